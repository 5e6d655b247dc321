package io.hyperplane.control.ec2;

import org.junit.jupiter.api.Test;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class XmlTest {
    private static String parsedMessage(String xml) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)))
                .getElementsByTagName("Message").item(0).getTextContent();
    }

    @Test
    void shouldAnswerReadableXmlWhenAValueHasCharactersXmlCannotCarry() throws Exception {
        String xml = Xml.error("InvalidVpcID.NotFound", "The vpc ID 'vpc-<x>&\u0001\u0000\uD800' does not exist", "r-1");
        assertThat(parsedMessage(xml)).isEqualTo("The vpc ID 'vpc-<x>&\uFFFD\uFFFD\uFFFD' does not exist");
    }

    @Test
    void shouldKeepTabsNewlinesAndCharactersBeyondTheBasicPlane() throws Exception {
        String text = "a\tb\nc \u00e9 \uD83D\uDE00";
        assertThat(parsedMessage(Xml.error("X", text, "r-1"))).isEqualTo(text);
    }
}
