package io.hyperplane.cli;

import io.hyperplane.control.ec2.Ec2Quotas;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class QuotaOptionsTest {
    @Test
    void shouldDefaultToAwsQuotasOnServerAndUp() {
        ServerCommand server = new ServerCommand();
        new CommandLine(server).parseArgs("--data-dir", "/tmp/unused");
        assertThat(server.quotas.quotas()).isEqualTo(Ec2Quotas.AWS_DEFAULTS);
        assertThat(Ec2Quotas.AWS_DEFAULTS).isEqualTo(new Ec2Quotas(5, 200, 2_500, 60, 20));
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs();
        assertThat(up.quotas.quotas()).isEqualTo(Ec2Quotas.AWS_DEFAULTS);
    }

    @Test
    void shouldTakeEveryQuotaFromTheCommandLine() {
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs("--vpc-quota", "7", "--subnet-quota", "8", "--security-group-quota", "9", "--rule-quota", "10",
                "--instance-quota", "11");
        assertThat(up.quotas.quotas()).isEqualTo(new Ec2Quotas(7, 8, 9, 10, 11));
    }

    @Test
    void shouldRefuseAQuotaBelowOneSayingWhichOne() {
        ServerCommand server = new ServerCommand();
        new CommandLine(server).parseArgs("--data-dir", "/tmp/unused", "--rule-quota", "0");
        assertThatThrownBy(server.quotas::quotas).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("quota of rules per security group (a new group has one outbound rule) 0: must be at least 1");
    }
}
