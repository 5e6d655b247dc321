package io.hyperplane.control.ec2;

/**
 * A small writer for EC2's response XML: elements in order, text escaped. EC2 responses are
 * shallow and regular (an item list per set), so a writer beats an XML binding here.
 */
public final class Xml {
    static final String EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/";

    private final StringBuilder out = new StringBuilder(512);

    Xml() {
        out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }

    Xml open(String name) {
        out.append('<').append(name).append('>');
        return this;
    }

    Xml openRoot(String name) {
        out.append('<').append(name).append(" xmlns=\"").append(EC2_NAMESPACE).append("\">");
        return this;
    }

    Xml close(String name) {
        out.append("</").append(name).append('>');
        return this;
    }

    Xml element(String name, Object value) {
        if (value == null) {
            return this;
        }
        out.append('<').append(name).append('>');
        escape(String.valueOf(value));
        return close(name);
    }

    Xml empty(String name) {
        out.append('<').append(name).append("/>");
        return this;
    }

    /**
     * Escapes markup, and replaces what XML 1.0 cannot carry at all (control characters, lone
     * surrogates; XML 1.0 section 2.2, "Char") with U+FFFD: a caller's value echoed in a message
     * ("The vpc ID '...' does not exist") must never make the answer unreadable.
     */
    private void escape(String text) {
        escapeInto(out, text);
    }

    private static void escapeInto(StringBuilder out, String text) {
        text.codePoints().forEach(c -> {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> out.appendCodePoint(isXmlChar(c) ? c : REPLACEMENT);
            }
        });
    }

    /** {@code text} escaped for XML content, as {@link #element} writes it (also for IAM's hand-written answers). */
    public static String escaped(String text) {
        StringBuilder out = new StringBuilder(text.length());
        escapeInto(out, text);
        return out.toString();
    }

    private static final int REPLACEMENT = 0xFFFD;

    private static boolean isXmlChar(int c) {
        return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
    }

    @Override
    public String toString() {
        return out.toString();
    }

    /** EC2's error envelope (EC2 API reference, "Error codes": "Response/Errors/Error"). */
    static String error(String code, String message, String requestId) {
        Xml x = new Xml();
        x.open("Response").open("Errors").open("Error").element("Code", code).element("Message", message)
                .close("Error").close("Errors").element("RequestID", requestId).close("Response");
        return x.toString();
    }
}
