package io.hyperplane.linux.underlay;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The probe's wire format in memory: round trip, the answer in place, and foreign or short input refused. */
class LivenessProbeTest {
    private static final int VXLAN_FLAG_I = 0x08;

    @Test
    void shouldCarryTargetSequenceAndTimeThroughTheAnswer() {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        LivenessProbe.writeProbe(buffer, 8, 7, 41, 123_456_789_012L);

        assertThat(LivenessProbe.isProbe(buffer, 8, LivenessProbe.LENGTH)).isTrue();
        assertThat(LivenessProbe.isAnswer(buffer, 8, LivenessProbe.LENGTH)).isFalse();
        LivenessProbe.answerInPlace(buffer, 8, 0xbeef);

        assertThat(LivenessProbe.isAnswer(buffer, 8, LivenessProbe.LENGTH)).isTrue();
        assertThat(LivenessProbe.isProbe(buffer, 8, LivenessProbe.LENGTH)).isFalse();
        assertThat(LivenessProbe.target(buffer, 8)).isEqualTo(7);
        assertThat(LivenessProbe.sequence(buffer, 8)).isEqualTo(41);
        assertThat(LivenessProbe.sentAtNanos(buffer, 8)).isEqualTo(123_456_789_012L);
        assertThat(LivenessProbe.incarnation(buffer, 8)).as("the responder's, unsigned").isEqualTo(0xbeef);
    }

    @Test
    void shouldNeverLookLikeAVxlanFrameWithAValidVni() {
        ByteBuffer buffer = ByteBuffer.allocate(LivenessProbe.LENGTH);
        LivenessProbe.writeProbe(buffer, 0, 1, 1, 1);

        assertThat(buffer.get(0) & VXLAN_FLAG_I).as("RFC 7348 §5 I flag").isZero();
    }

    @Test
    void shouldRefuseShortTruncatedAndForeignInput() {
        ByteBuffer buffer = ByteBuffer.allocate(LivenessProbe.LENGTH);
        LivenessProbe.writeProbe(buffer, 0, 1, 1, 1);

        assertThat(LivenessProbe.isProbe(buffer, 0, LivenessProbe.LENGTH - 1)).isFalse();
        assertThat(LivenessProbe.isProbe(buffer, 1, LivenessProbe.LENGTH)).as("runs past the buffer").isFalse();
        assertThat(LivenessProbe.isProbe(buffer, -1, LivenessProbe.LENGTH)).isFalse();
        ByteBuffer vxlan = ByteBuffer.allocate(LivenessProbe.LENGTH).putInt(0, VXLAN_FLAG_I << 24);
        assertThat(LivenessProbe.isProbe(vxlan, 0, LivenessProbe.LENGTH)).isFalse();
        buffer.put(LivenessProbe.VERSION_OFFSET, (byte) 2);
        assertThat(LivenessProbe.isProbe(buffer, 0, LivenessProbe.LENGTH)).as("another version").isFalse();
    }

    @Test
    void shouldAnswerFalseAndNeverThrowOnRandomBytes() {
        Random random = new Random(17);
        for (int i = 0; i < 10_000; i++) {
            byte[] bytes = new byte[random.nextInt(40)];
            random.nextBytes(bytes);
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            int offset = random.nextInt(8) - 2;
            int length = random.nextInt(48) - 4;
            assertThat(LivenessProbe.isProbe(buffer, offset, length) || LivenessProbe.isAnswer(buffer, offset, length)).isFalse();
        }
    }
}
