package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * New TCP connections per second: {@code clients} threads each loop connect, send one byte, read
 * the echo, close, for a fixed time. The connection-rate benchmark's client. The first fifth of
 * the run is warm-up and not counted.
 */
final class ConnectRate {
    private ConnectRate() {
    }

    static ObjectNode run(InetSocketAddress target, int clients, long durationMs) throws IOException {
        AtomicLong completed = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long start = System.nanoTime();
        long countFrom = start + durationMs * 1_000_000 / 5;
        long end = start + durationMs * 1_000_000;
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(Thread.ofPlatform().name("conn-" + c).start(() -> {
                while (System.nanoTime() < end) {
                    try (Socket socket = new Socket()) {
                        socket.setTcpNoDelay(true);
                        socket.setSoTimeout(2000);
                        socket.connect(target, 2000);
                        socket.getOutputStream().write(1);
                        if (socket.getInputStream().read() < 0) {
                            throw new IOException("closed");
                        }
                    } catch (IOException e) {
                        failed.incrementAndGet();
                        continue;
                    }
                    if (System.nanoTime() >= countFrom) {
                        completed.incrementAndGet();
                    }
                }
            }));
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        double seconds = (end - countFrom) / 1e9;
        return JsonNodeFactory.instance.objectNode().put("ok", completed.get() > 0)
                .put("completed", completed.get()).put("failed", failed.get())
                .put("connectionsPerSecond", completed.get() / seconds);
    }
}
