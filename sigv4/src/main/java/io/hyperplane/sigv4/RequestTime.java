package io.hyperplane.sigv4;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * When a request says it was signed, and that time in ISO 8601 basic format
 * ({@code 20150830T123600Z}), the form the string to sign and the credential scope use.
 */
record RequestTime(Instant instant, String basic) {
    private static final Pattern BASIC_SHAPE = Pattern.compile("[0-9]{8}T[0-9]{6}Z");
    private static final DateTimeFormatter BASIC_FORMAT =
            DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'").withResolverStyle(ResolverStyle.STRICT);
    // An IMF-fixdate is parsed without its day name, which is redundant and left unchecked: AWS's own
    // 2011 test suite dates a Friday "Mon, 09 Sep 2011 23:36:00 GMT", which RFC_1123_DATE_TIME refuses.
    private static final Pattern DAY_NAME = Pattern.compile("^[A-Za-z]{3},\\s*");
    private static final DateTimeFormatter HTTP_DATE_WITHOUT_DAY_NAME =
            DateTimeFormatter.ofPattern("d MMM uuuu HH:mm:ss 'GMT'", Locale.ENGLISH)
                    .withResolverStyle(ResolverStyle.STRICT);

    RequestTime {
        if (instant == null || basic == null) {
            throw new IllegalArgumentException("request time: instant and basic form must not be null");
        }
    }

    /**
     * From X-Amz-Date, which must be ISO 8601 basic format. The value is kept as sent, since that
     * string, not a reformatting of it, is what the client put in its string to sign.
     */
    static RequestTime fromAmzDate(String value) throws Rejection {
        Instant instant = parseBasic(value);
        if (instant == null) {
            throw notBasic(value);
        }
        return new RequestTime(instant, value);
    }

    /**
     * From the HTTP Date header, used when X-Amz-Date is absent: an RFC 7231 IMF-fixdate
     * ({@code Mon, 09 Sep 2011 23:36:00 GMT}) or ISO 8601 basic format. The string to sign carries
     * it in basic format (the 2011 AWS SigV4 test suite signs {@code Date} this way).
     */
    static RequestTime fromDateHeader(String value) throws Rejection {
        Instant instant = parseBasic(value);
        if (instant == null) {
            try {
                String withoutDayName = DAY_NAME.matcher(value.trim()).replaceFirst("");
                instant = LocalDateTime.parse(withoutDayName, HTTP_DATE_WITHOUT_DAY_NAME).toInstant(ZoneOffset.UTC);
            } catch (DateTimeException e) {
                throw notBasic(value);
            }
        }
        return new RequestTime(instant, basic(instant));
    }

    static String basic(Instant instant) {
        return BASIC_FORMAT.format(LocalDateTime.ofInstant(instant, ZoneOffset.UTC));
    }

    /** The date part, {@code YYYYMMDD}, that the credential scope must repeat. */
    String date() {
        return basic.substring(0, 8);
    }

    private static Instant parseBasic(String value) {
        if (!BASIC_SHAPE.matcher(value).matches()) {
            return null;
        }
        try {
            return LocalDateTime.parse(value, BASIC_FORMAT).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static Rejection notBasic(String value) {
        return new Rejection(Failure.INCOMPLETE_SIGNATURE, "Date must be in ISO-8601 'basic format'. Got '"
                + value + "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
}
