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
 * @param elasticIps            Elastic IPs per account (one region here): AddressLimitExceeded
 */
public record Ec2Quotas(int vpcsPerRegion, int subnetsPerVpc, int securityGroupsPerVpc, int rulesPerGroup, int runningInstances,
                        int elasticIps) {
    public static final int VPCS_PER_REGION = 5;
    public static final int SUBNETS_PER_VPC = 200;
    public static final int SECURITY_GROUPS_PER_VPC = 2_500;
    public static final int RULES_PER_GROUP = 60;
    /** EC2's On-Demand instance limit before quotas were counted in vCPUs (2019): 20 per Region. */
    public static final int RUNNING_INSTANCES = 20;
    /** Amazon VPC User Guide, "Elastic IP address quotas": 5 per Region. */
    public static final int ELASTIC_IPS = 5;

    public static final Ec2Quotas AWS_DEFAULTS = new Ec2Quotas(VPCS_PER_REGION, SUBNETS_PER_VPC, SECURITY_GROUPS_PER_VPC, RULES_PER_GROUP,
            RUNNING_INSTANCES);

    /** The quotas {@code hyperplane up} sets, with AWS's Elastic IP quota. */
    public Ec2Quotas(int vpcsPerRegion, int subnetsPerVpc, int securityGroupsPerVpc, int rulesPerGroup, int runningInstances) {
        this(vpcsPerRegion, subnetsPerVpc, securityGroupsPerVpc, rulesPerGroup, runningInstances, ELASTIC_IPS);
    }

    public Ec2Quotas {
        require(vpcsPerRegion, "VPCs per region");
        require(subnetsPerVpc, "subnets per VPC");
        require(securityGroupsPerVpc, "security groups per VPC (the default group is one)");
        require(rulesPerGroup, "rules per security group (a new group has one outbound rule)");
        require(runningInstances, "running instances");
        require(elasticIps, "Elastic IPs");
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

    static Ec2Error addressLimitExceeded() {
        return Ec2Error.client("AddressLimitExceeded", "The maximum number of addresses has been reached.");
    }

    public Ec2Quotas withVpcsPerRegion(int n) {
        return new Ec2Quotas(n, subnetsPerVpc, securityGroupsPerVpc, rulesPerGroup, runningInstances, elasticIps);
    }

    public Ec2Quotas withSubnetsPerVpc(int n) {
        return new Ec2Quotas(vpcsPerRegion, n, securityGroupsPerVpc, rulesPerGroup, runningInstances, elasticIps);
    }

    public Ec2Quotas withSecurityGroupsPerVpc(int n) {
        return new Ec2Quotas(vpcsPerRegion, subnetsPerVpc, n, rulesPerGroup, runningInstances, elasticIps);
    }

    public Ec2Quotas withRulesPerGroup(int n) {
        return new Ec2Quotas(vpcsPerRegion, subnetsPerVpc, securityGroupsPerVpc, n, runningInstances, elasticIps);
    }

    public Ec2Quotas withRunningInstances(int n) {
        return new Ec2Quotas(vpcsPerRegion, subnetsPerVpc, securityGroupsPerVpc, rulesPerGroup, n, elasticIps);
    }

    public Ec2Quotas withElasticIps(int n) {
        return new Ec2Quotas(vpcsPerRegion, subnetsPerVpc, securityGroupsPerVpc, rulesPerGroup, runningInstances, n);
    }
}
