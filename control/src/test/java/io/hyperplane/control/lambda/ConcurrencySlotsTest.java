package io.hyperplane.control.lambda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ConcurrencySlotsTest {
    private final ConcurrencySlots slots = new ConcurrencySlots();

    @Test
    void shouldThrottleOnceTheLimitIsInFlight() {
        slots.acquire("111122223333", 2);
        slots.acquire("111122223333", 2);

        assertThatThrownBy(() -> slots.acquire("111122223333", 2)).isInstanceOfSatisfying(LambdaError.class, e -> {
            assertThat(e.type()).isEqualTo("TooManyRequestsException");
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.getMessage()).isEqualTo("Rate Exceeded.");
        });
        assertThat(slots.inFlight("111122223333")).isEqualTo(2);
    }

    @Test
    void shouldGiveBackAPlaceOnRelease() {
        slots.acquire("111122223333/f", 1);
        slots.release("111122223333/f");

        slots.acquire("111122223333/f", 1);
        assertThat(slots.inFlight("111122223333/f")).isEqualTo(1);
    }

    @Test
    void shouldForgetASlotOnceNothingRunsInIt() {
        for (int f = 0; f < 1_000; f++) {
            slots.acquire("111122223333/f" + f, 10);
            slots.acquire("111122223333/f" + f, 10);
            slots.release("111122223333/f" + f);
            slots.release("111122223333/f" + f);
        }

        assertThat(slots.slotsInUse()).as("slots of idle functions").isZero();
        assertThat(slots.inFlight("111122223333/f0")).isZero();
    }

    @Test
    void shouldNotTakeAPlaceWhenThrottled() {
        assertThatThrownBy(() -> slots.acquire("111122223333", 0)).isInstanceOf(LambdaError.class);

        assertThat(slots.slotsInUse()).isZero();
    }
}
