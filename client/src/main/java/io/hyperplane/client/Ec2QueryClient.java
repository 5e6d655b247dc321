package io.hyperplane.client;

import io.hyperplane.sigv4.Credential;
import io.hyperplane.sigv4.SigV4Signer;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A minimal EC2 Query API client for the project's own tools: form-encoded POST, signed with
 * SigV4, XML answer parsed into a DOM. Thread-safe; one HTTP client underneath.
 */
public final class Ec2QueryClient {
    private static final String REGION = "us-east-1";
    private static final String CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8";

    private final URI endpoint;
    private final Credential credential;
    private final String service;
    private final String version;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    public Ec2QueryClient(URI endpoint, Credential credential) {
        this(endpoint, credential, "ec2", "2016-11-15");
    }

    private Ec2QueryClient(URI endpoint, Credential credential, String service, String version) {
        this.endpoint = endpoint;
        this.credential = credential;
        this.service = service;
        this.version = version;
    }

    /** The same client for the IAM Query API (service iam, version 2010-05-08). */
    public static Ec2QueryClient iam(URI endpoint, Credential credential) {
        return new Ec2QueryClient(endpoint, credential, "iam", "2010-05-08");
    }

    /** An error answer from the API: EC2's code and message. */
    public static final class Ec2ClientException extends IOException {
        private final String code;

        Ec2ClientException(String code, String message) {
            super(code + ": " + message);
            this.code = code;
        }

        public String code() {
            return code;
        }
    }

    /** Calls {@code action} with {@code parameters}; returns the response's root element. */
    public Element call(String action, Map<String, String> parameters) throws IOException, InterruptedException {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("Action", action);
        form.put("Version", version);
        form.putAll(parameters);
        byte[] body = form.entrySet().stream().map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&")).getBytes(StandardCharsets.UTF_8);
        String host = endpoint.getHost() + (endpoint.getPort() > 0 ? ":" + endpoint.getPort() : "");
        Map<String, String> signedHeaders = new LinkedHashMap<>();
        signedHeaders.put("Host", host);
        signedHeaders.put("Content-Type", CONTENT_TYPE);
        Map<String, String> auth = SigV4Signer.sign("POST", "/", null, signedHeaders, body, credential, REGION, service, Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve("/")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", CONTENT_TYPE).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        auth.forEach(request::header);
        HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        Element root = parse(response.body());
        if (response.statusCode() != 200) {
            throw new Ec2ClientException(text(root, "Code"), text(root, "Message"));
        }
        return root;
    }

    /** A signed GET of one of the server's own JSON views (for example /hyperplane/v1/enis); the body. */
    public String getJson(String path) throws IOException, InterruptedException {
        String host = endpoint.getHost() + (endpoint.getPort() > 0 ? ":" + endpoint.getPort() : "");
        Map<String, String> auth = SigV4Signer.sign("GET", path, null, Map.of("Host", host), new byte[0], credential, REGION, "lambda", Instant.now());
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve(path)).timeout(Duration.ofSeconds(30)).GET();
        auth.forEach(request::header);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET " + path + ": HTTP " + response.statusCode() + " " + response.body());
        }
        return response.body();
    }

    private static Element parse(byte[] xml) throws IOException {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Document doc = factory.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
            return doc.getDocumentElement();
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException("unreadable answer from the server: " + e.getMessage(), e);
        }
    }

    /** The text of the first descendant element named {@code name}, or "". */
    public static String text(Element element, String name) {
        var nodes = element.getElementsByTagName(name);
        return nodes.getLength() == 0 ? "" : nodes.item(0).getTextContent();
    }

    /** The direct child element named {@code name}, or null. */
    public static Element child(Element element, String name) {
        for (Node n = element.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    /** The "item" children of a set element (an empty list when the set is absent). */
    public static List<Element> items(Element set) {
        List<Element> out = new ArrayList<>();
        if (set == null) {
            return out;
        }
        for (Node n = set.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals("item")) {
                out.add(e);
            }
        }
        return out;
    }

    /** The default profile's key from an AWS shared-credentials file (as the server writes it). */
    public static Credential credentialsFrom(Path file) throws IOException {
        String key = null;
        String secret = null;
        for (String line : Files.readAllLines(file)) {
            String[] kv = line.split("=", 2);
            if (kv.length == 2 && kv[0].trim().equals("aws_access_key_id") && key == null) {
                key = kv[1].trim();
            } else if (kv.length == 2 && kv[0].trim().equals("aws_secret_access_key") && secret == null) {
                secret = kv[1].trim();
            }
        }
        if (key == null || secret == null) {
            throw new IOException(file + ": no aws_access_key_id / aws_secret_access_key");
        }
        return new Credential(key, secret, "client"); // the account is the server's to know
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
