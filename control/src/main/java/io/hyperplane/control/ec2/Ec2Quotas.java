package io.hyperplane.control.ec2;

/**
 * EC2's quotas, counted as AWS counts them and checked inside the creating call's transaction, under
 * the account's lock, so concurrent calls cannot overshoot. A call past a quota changes nothing and
 * gets EC2's error (HTTP 400). Defaults are AWS's (Amazon VPC User Guide, "Amazon VPC quotas";
 * Amazon EC2 User Guide, "On-Demand Instance quotas").
 *
 * @param vpcsPerRegion         VPCs per account (one region here): VpcLimitExceeded
 * @param subnetsPerVpc         subnets per VPC: SubnetLimitExceeded
 * @param securityGroupsPerVpc  security groups per VPC, its default group included: SecurityGroupLimitExceeded
 * @param rulesPerGroup         rules per security group, inbound and outbound counted apart (each CIDR or
 *                              referenced group is one rule; the default outbound rule counts):
 *                              RulesPerSecurityGroupLimitExceeded
 * @param runningInstances      pending and running instances per account: InstanceLimitExceeded
 */
public record Ec2Quotas(int vpcsPerRegion, int subnetsPerVpc, int securityGroupsPerVpc, int rulesPerGroup, int runningInstances) {
    public static final int VPCS_PER_REGION = 5;
    public static final int SUBNETS_PER_VPC = 200;
    public static final int SECURITY_GROUPS_PER_VPC = 2_500;
    public static final int RULES_PER_GROUP = 60;
    /** EC2's On-Demand instance limit before quotas were counted in vCPUs (2019): 20 per Region. */
    public static final int RUNNING_INSTANCES = 20;

    public static final Ec2Quotas AWS_DEFAULTS = new Ec2Quotas(VPCS_PER_REGION, SUBNETS_PER_VPC, SECURITY_GROUPS_PER_VPC, RULES_PER_GROUP,
            RUNNING_INSTANCES);

    public Ec2Quotas {
        require(vpcsPerRegion, "VPCs per region");
        require(subnetsPerVpc, "subnets per VPC");
        require(securityGroupsPerVpc, "security groups per VPC (the default group is one)");
        require(rulesPerGroup, "rules per security group (a new group has one outbound rule)");
        require(runningInstances, "running instances");
    }

    private static void require(int quota, String what) {
        if (quota < 1) {
            throw new IllegalArgumentException("quota of " + what + " " + quota + ": must be at least 1");
        }
    }

    // EC2's refusals, worded as AWS words them.

    static Ec2Error vpcLimitExceeded() {
        return Ec2Error.client("VpcLimitExceeded", "The maximum number of VPCs has been reached.");
    }

    static Ec2Error subnetLimitExceeded() {
        return Ec2Error.client("SubnetLimitExceeded", "The maximum number of subnets has been reached.");
    }

    static Ec2Error securityGroupLimitExceeded(String vpcId) {
        return Ec2Error.client("SecurityGroupLimitExceeded", "The maximum number of security groups for VPC '" + vpcId + "' has been reached.");
    }

    static Ec2Error rulesPerSecurityGroupLimitExceeded() {
        return Ec2Error.client("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.");
    }

    static Ec2Error instanceLimitExceeded(long allowed, int requested) {
        return Ec2Error.client("InstanceLimitExceeded", "Your quota allows for " + allowed + " more running instance(s). You requested at least "
                + requested + ".");
    }

    public Ec2Quotas withVpcsPerRegion(int n) {
        return new Ec2Quotas(n, subnetsPerVpc, securityGroupsPerVpc, rulesPerGroup, runningInstances);
    }

    public Ec2Quotas withSubnetsPerVpc(int n) {
        return new Ec2Quotas(vpcsPerRegion, n, securityGroupsPerVpc, rulesPerGroup, runningInstances);
    }

    public Ec2Quotas withSecurityGroupsPerVpc(int n) {
        return new Ec2Quotas(vpcsPerRegion, subnetsPerVpc, n, rulesPerGroup, runningInstances);
    }

    public Ec2Quotas withRulesPerGroup(int n) {
        return new Ec2Quotas(vpcsPerRegion, subnetsPerVpc, securityGroupsPerVpc, n, runningInstances);
    }

    public Ec2Quotas withRunningInstances(int n) {
        return new Ec2Quotas(vpcsPerRegion, subnetsPerVpc, securityGroupsPerVpc, rulesPerGroup, n);
    }
}
