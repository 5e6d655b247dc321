package io.hyperplane.lab.dns;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.Internet;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The DNS servers' decisions, bytes in and out, no sockets. */
class DnsResponderTest {
    private static final FabricState.InstanceHost DB = new FabricState.InstanceHost("i-1", "subnet-1", "10.0.1.4", 24, "10.0.1.1", null, List.of(), List.of());

    private static FabricState.VpcNetwork vpc(String gateway, boolean hostnames) {
        return new FabricState.VpcNetwork("vpc-1", "10.0.0.0/16", null, List.of(), List.of(DB), new FabricState.Dns(true, hostnames, "ec2.internal"),
                gateway, gateway == null ? List.of() : List.of(new FabricState.PublicAddress("10.0.1.4", "198.51.100.5")));
    }

    private static Message ask(Answers answers, String name, int type) throws Exception {
        Message query = Message.newQuery(Record.newRecord(Name.fromString(name + "."), type, DClass.IN));
        byte[] response = DnsResponder.respond(answers, query.toWire());
        assertThat(response).isNotNull();
        Message parsed = new Message(response);
        assertThat(parsed.getHeader().getID()).isEqualTo(query.getHeader().getID());
        assertThat(parsed.getHeader().getFlag(Flags.QR)).isTrue();
        return parsed;
    }

    private static String address(Message m) {
        return m.getSection(Section.ANSWER).stream().map(Record::rdataToString).findFirst().orElse(null);
    }

    @Test
    void shouldAnswerAnInstancesPrivateNameCaseInsensitively() throws Exception {
        Message m = ask(Zones.vpcResolver(vpc(null, false)), "IP-10-0-1-4.ec2.internal", Type.A);
        assertThat(m.getRcode()).isEqualTo(Answers.Rcodes.NOERROR);
        assertThat(address(m)).isEqualTo("10.0.1.4");
        assertThat(m.getHeader().getFlag(Flags.RA)).isTrue();
    }

    @Test
    void shouldAnswerNoDataForAnotherTypeOfAKnownName() throws Exception {
        Message m = ask(Zones.vpcResolver(vpc(null, false)), "ip-10-0-1-4.ec2.internal", Type.AAAA);
        assertThat(m.getRcode()).isEqualTo(Answers.Rcodes.NOERROR);
        assertThat(m.getSection(Section.ANSWER)).isEmpty();
    }

    @Test
    void shouldAnswerPublicNamesWithThePrivateAddressOnlyWithHostnames() throws Exception {
        assertThat(address(ask(Zones.vpcResolver(vpc("igw-1", true)), "ec2-198-51-100-5.compute-1.amazonaws.com", Type.A))).isEqualTo("10.0.1.4");
        assertThat(address(ask(Zones.vpcResolver(vpc("igw-1", false)), "ec2-198-51-100-5.compute-1.amazonaws.com", Type.A))).isNull();
    }

    @Test
    void shouldResolveTheInternetOnlyWithAWayOut() throws Exception {
        assertThat(address(ask(Zones.vpcResolver(vpc("igw-1", false)), Internet.WHOAMI_NAME, Type.A))).isEqualTo(Internet.HOST);
        assertThat(ask(Zones.vpcResolver(vpc("igw-1", false)), "nowhere.example", Type.A).getRcode()).isEqualTo(Answers.Rcodes.NXDOMAIN);
        assertThat(ask(Zones.vpcResolver(vpc(null, false)), Internet.WHOAMI_NAME, Type.A).getRcode()).isEqualTo(Answers.Rcodes.SERVFAIL);
    }

    @Test
    void shouldSayNxdomainForAnUnknownNameInTheVpcsDomain() throws Exception {
        assertThat(ask(Zones.vpcResolver(vpc(null, false)), "ip-10-0-1-99.ec2.internal", Type.A).getRcode()).isEqualTo(Answers.Rcodes.NXDOMAIN);
    }

    @Test
    void shouldAnswerAuthoritativelyForTheInternetZoneAndRefuseTheRest() throws Exception {
        Message whoami = ask(Zones.internetAuthority(), Internet.WHOAMI_NAME, Type.A);
        assertThat(whoami.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(address(whoami)).isEqualTo(Internet.HOST);
        assertThat(ask(Zones.internetAuthority(), "nope.internet.test", Type.A).getRcode()).isEqualTo(Answers.Rcodes.NXDOMAIN);
        assertThat(ask(Zones.internetAuthority(), "ip-10-0-1-4.ec2.internal", Type.A).getRcode()).isEqualTo(Answers.Rcodes.REFUSED);
    }

    @Test
    void shouldNotAnswerResponsesOrGarbage() throws Exception {
        Message query = Message.newQuery(Record.newRecord(Name.fromString("a.internet.test."), Type.A, DClass.IN));
        query.getHeader().setFlag(Flags.QR);
        assertThat(DnsResponder.respond(Zones.serviceResolver(), query.toWire())).isNull();
        assertThat(DnsResponder.respond(Zones.serviceResolver(), new byte[] {1, 2, 3})).isNull();
        assertThat(DnsResponder.respond(Zones.serviceResolver(), new byte[0])).isNull();
    }

    @Test
    void shouldRefuseOtherOpcodesAndSeveralQuestions() throws Exception {
        Message notify = Message.newQuery(Record.newRecord(Name.fromString("a.internet.test."), Type.A, DClass.IN));
        notify.getHeader().setOpcode(Opcode.NOTIFY);
        assertThat(new Message(DnsResponder.respond(Zones.serviceResolver(), notify.toWire())).getRcode()).isEqualTo(Answers.Rcodes.NOTIMP);
        Message two = Message.newQuery(Record.newRecord(Name.fromString("a.internet.test."), Type.A, DClass.IN));
        two.addRecord(Record.newRecord(Name.fromString("b.internet.test."), Type.A, DClass.IN), Section.QUESTION);
        assertThat(new Message(DnsResponder.respond(Zones.serviceResolver(), two.toWire())).getRcode()).isEqualTo(Answers.Rcodes.FORMERR);
    }

    /** Seeded: truncated and mangled queries get a well-formed response or none, never an exception. */
    @Test
    void shouldNeverThrowOnMangledQueries() throws Exception {
        byte[] good = Message.newQuery(Record.newRecord(Name.fromString(Internet.WHOAMI_NAME + "."), Type.A, DClass.IN)).toWire();
        Random random = new Random(16);
        for (int i = 0; i < 20_000; i++) {
            byte[] bytes = Arrays.copyOf(good, 1 + random.nextInt(good.length + 8));
            for (int flips = random.nextInt(4); flips > 0; flips--) {
                bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
            }
            byte[] response = DnsResponder.respond(Zones.vpcResolver(vpc("igw-1", true)), bytes);
            if (response != null) {
                assertThat(response.length).isLessThanOrEqualTo(DnsResponder.MAX_UDP_MESSAGE);
                new Message(response);
            }
        }
    }

    @Test
    void shouldLimitEachSourceAndTheNumberOfSources() {
        SourceLimiter limiter = new SourceLimiter(3, 0);
        assertThat(limiter.allow(1, 0)).isTrue();
        assertThat(limiter.allow(1, 0)).isTrue();
        assertThat(limiter.allow(1, 0)).isTrue();
        assertThat(limiter.allow(1, 0)).isFalse();
        assertThat(limiter.allow(2, 0)).isTrue();
        assertThat(limiter.allow(1, 1_000_000_000L)).isTrue();
        for (int source = 10; source < 10 + SourceLimiter.MAX_SOURCES - 1; source++) {
            limiter.allow(source, 1_000_000_000L);
        }
        assertThat(limiter.allow(-5, 1_000_000_000L)).isFalse();
    }
}
