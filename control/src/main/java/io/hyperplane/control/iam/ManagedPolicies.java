package io.hyperplane.control.iam;

import java.util.Map;
import java.util.Optional;

/**
 * The AWS managed policies a Lambda execution role uses, with their real permission lists
 * (AWS Managed Policy Reference, AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole).
 */
public final class ManagedPolicies {
    public static final String BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    public static final String VPC_ACCESS_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";

    private static final Map<String, String> DOCUMENTS = Map.of(
            BASIC_EXECUTION, """
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                      "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}""",
            VPC_ACCESS_EXECUTION, """
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                      "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                 "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                                 "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                      "Resource": "*"}]}""");

    private ManagedPolicies() {
    }

    public static Optional<String> document(String arn) {
        return Optional.ofNullable(DOCUMENTS.get(arn));
    }

    /** The policy's name: the last segment of its ARN. */
    public static String name(String arn) {
        return arn.substring(arn.lastIndexOf('/') + 1);
    }
}
