package io.hyperplane.control.iam;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class PolicyDocumentTest {
    private static PolicyDocument.Statement statement(String action) {
        return PolicyDocument.parse("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"" + action + "\",\"Resource\":\"*\"}}").statements().getFirst();
    }

    @Test
    void shouldMatchActionsIgnoringCaseOnBothSides() {
        assertThat(statement("EC2:Describe*").matches("ec2:describevpcs")).isTrue();
        assertThat(statement("ec2:describe*").matches("EC2:DescribeVpcs")).isTrue();
        assertThat(statement("ec2:Describe?pcs").matches("EC2:DESCRIBEVPCS")).isTrue();
        assertThat(statement("ec2:Describe*").matches("ec2:CreateVpc")).isFalse();
    }

    @Test
    void shouldMatchAnyOfAStatementsActions() {
        PolicyDocument.Statement s = PolicyDocument.parse(
                "{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":[\"ec2:Create*\",\"ec2:Delete*\"]}]}").statements().getFirst();
        assertThat(s.allow()).isFalse();
        assertThat(s.matches("ec2:DeleteNetworkInterface")).isTrue();
        assertThat(s.matches("ec2:CreateNetworkInterface")).isTrue();
        assertThat(s.matches("ec2:DescribeNetworkInterfaces")).isFalse();
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void shouldEvaluateATenantsPathologicalActionInOnePass() {
        PolicyDocument.Statement s = statement("a*".repeat(30) + "b");
        assertThat(s.matches("a".repeat(10_000))).isFalse();
        assertThat(s.matches("A".repeat(10_000) + "B")).isTrue();
    }
}
