package io.hyperplane.lab.dns;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * One query in, one response out (or none): the decisions of the lab's DNS servers, with no
 * sockets, so that tests feed it bytes. dnsjava parses and builds the messages.
 * <p>Rules, in order:
 * <ol>
 *   <li>not a DNS message, or a response (QR set): no answer (answering responses lets two
 *       servers echo each other for ever);</li>
 *   <li>an opcode other than QUERY: NOTIMP (RFC 1035 §4.1.1);</li>
 *   <li>not exactly one question: FORMERR (every server in use takes one, RFC 9619);</li>
 *   <li>a class other than IN: REFUSED;</li>
 *   <li>a known name: its A record for an A (or ANY) question, an empty NOERROR for other types;</li>
 *   <li>an unknown name in a domain the server knows completely: NXDOMAIN;</li>
 *   <li>anything else: {@link Answers#otherwise()}.</li>
 * </ol>
 */
public final class DnsResponder {
    /** Short, as the VPC resolver's own answers are: instances come and go. */
    static final long TTL_SECONDS = 60;
    /** RFC 1035 §4.2.1: a UDP message without EDNS0 is at most 512 bytes. */
    public static final int MAX_UDP_MESSAGE = 512;

    private DnsResponder() {
    }

    /** The response to {@code query}, or null when none should be sent. */
    public static byte[] respond(Answers answers, byte[] query) {
        Message in;
        try {
            in = new Message(query);
        } catch (IOException | RuntimeException e) {
            return null; // rule 1: garbage (dnsjava rejects it with WireParseException, an IOException)
        }
        if (in.getHeader().getFlag(Flags.QR)) {
            return null;
        }
        Message out = new Message(in.getHeader().getID());
        out.getHeader().setFlag(Flags.QR);
        out.getHeader().setOpcode(in.getHeader().getOpcode());
        if (in.getHeader().getFlag(Flags.RD)) {
            out.getHeader().setFlag(Flags.RD);
        }
        out.getHeader().setFlag(answers.authoritative() ? Flags.AA : Flags.RA);
        if (in.getHeader().getOpcode() != Opcode.QUERY) {
            return rcode(out, Answers.Rcodes.NOTIMP);
        }
        Record[] questions = in.getSectionArray(Section.QUESTION);
        if (questions.length != 1) {
            return rcode(out, Answers.Rcodes.FORMERR);
        }
        Record question = questions[0];
        out.addRecord(question, Section.QUESTION);
        if (question.getDClass() != DClass.IN) {
            return rcode(out, Answers.Rcodes.REFUSED);
        }
        Name name = question.getName();
        String address = answers.address(name.toString());
        if (address != null) {
            if (question.getType() == Type.A || question.getType() == Type.ANY) {
                out.addRecord(new ARecord(name, DClass.IN, TTL_SECONDS, inet(address)), Section.ANSWER);
            }
            return rcode(out, Answers.Rcodes.NOERROR);
        }
        if (answers.inDomains(name.toString())) {
            return rcode(out, Answers.Rcodes.NXDOMAIN);
        }
        return rcode(out, answers.otherwise());
    }

    private static byte[] rcode(Message out, int rcode) {
        out.getHeader().setRcode(rcode);
        return out.toWire(MAX_UDP_MESSAGE);
    }

    private static InetAddress inet(String address) {
        try {
            return InetAddress.getByName(address); // a literal (Answers normalised it): no lookup
        } catch (UnknownHostException e) {
            throw new IllegalStateException("not an address literal: " + address, e);
        }
    }
}
