package io.hyperplane.cli;

import io.hyperplane.control.ec2.Ec2Quotas;
import picocli.CommandLine.Option;

/** EC2's quotas, per account as AWS counts them, AWS's defaults unless given (a picocli mixin of server and up). */
final class QuotaOptions {
    @Option(names = "--vpc-quota", defaultValue = "" + Ec2Quotas.VPCS_PER_REGION, paramLabel = "N",
            description = "VPCs per account (AWS: ${DEFAULT-VALUE} per Region; beyond it VpcLimitExceeded).")
    int vpcs;

    @Option(names = "--subnet-quota", defaultValue = "" + Ec2Quotas.SUBNETS_PER_VPC, paramLabel = "N",
            description = "Subnets per VPC (AWS: ${DEFAULT-VALUE}; SubnetLimitExceeded).")
    int subnets;

    @Option(names = "--security-group-quota", defaultValue = "" + Ec2Quotas.SECURITY_GROUPS_PER_VPC, paramLabel = "N",
            description = "Security groups per VPC, the default group included (default: ${DEFAULT-VALUE}; SecurityGroupLimitExceeded).")
    int securityGroups;

    @Option(names = "--rule-quota", defaultValue = "" + Ec2Quotas.RULES_PER_GROUP, paramLabel = "N",
            description = "Inbound rules, and outbound rules, per security group (AWS: ${DEFAULT-VALUE} each; RulesPerSecurityGroupLimitExceeded).")
    int rules;

    @Option(names = "--instance-quota", defaultValue = "" + Ec2Quotas.RUNNING_INSTANCES, paramLabel = "N",
            description = "Pending and running instances per account (default: ${DEFAULT-VALUE}; InstanceLimitExceeded).")
    int instances;

    Ec2Quotas quotas() {
        return new Ec2Quotas(vpcs, subnets, securityGroups, rules, instances);
    }
}
