package io.hyperplane.control.iam;

import io.hyperplane.control.account.Accounts;
import io.hyperplane.control.ec2.Xml;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.Ids;
import io.hyperplane.control.store.Sql;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The IAM Query API subset a Lambda user needs (API version 2010-05-08): CreateRole, GetRole,
 * DeleteRole, AttachRolePolicy, DetachRolePolicy, ListAttachedRolePolicies, PutRolePolicy, with
 * IAM's XML shapes and error codes; and {@link #allows}, the permission check the function
 * lifecycle uses (explicit deny wins, then any allow, else denied).
 */
public final class IamApi {
    private static final String NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";
    private static final Pattern ROLE_NAME = Pattern.compile("[\\w+=,.@-]{1,64}"); // IAM's RoleName pattern

    private final Database db;

    public IamApi(Database db) {
        this.db = db;
    }

    /** An IAM error: code, HTTP status, message. */
    static final class IamError extends RuntimeException {
        final String code;
        final int status;

        IamError(String code, int status, String message) {
            super(message);
            this.code = code;
            this.status = status;
        }
    }

    public record Response(int status, String xml) {
    }

    public Response handle(String account, Map<String, String> p, String requestId) {
        try {
            String action = required(p, "Action");
            String result = switch (action) {
                case "CreateRole" -> createRole(account, p);
                case "GetRole" -> "<Role>" + role(account, required(p, "RoleName")) + "</Role>";
                case "DeleteRole" -> deleteRole(account, required(p, "RoleName"));
                case "AttachRolePolicy" -> attach(account, required(p, "RoleName"), required(p, "PolicyArn"));
                case "DetachRolePolicy" -> detach(account, required(p, "RoleName"), required(p, "PolicyArn"));
                case "ListAttachedRolePolicies" -> listAttached(account, required(p, "RoleName"));
                case "PutRolePolicy" -> putInline(account, required(p, "RoleName"), required(p, "PolicyName"), required(p, "PolicyDocument"));
                default -> throw new IamError("InvalidAction", 400, "Could not find operation " + action + " for version 2010-05-08");
            };
            String body = result == null ? "" : "<" + action + "Result>" + result + "</" + action + "Result>";
            return new Response(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + action + "Response xmlns=\"" + NAMESPACE + "\">" + body
                    + "<ResponseMetadata><RequestId>" + requestId + "</RequestId></ResponseMetadata></" + action + "Response>");
        } catch (IamError e) {
            return new Response(e.status, errorXml(e.code, e.getMessage(), requestId));
        }
    }

    /** IAM's error envelope (query protocol): ErrorResponse/Error/{Type, Code, Message}. */
    public static String errorXml(String code, String message, String requestId) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"" + NAMESPACE + "\"><Error><Type>Sender</Type><Code>"
                + escape(code) + "</Code><Message>" + escape(message) + "</Message></Error><RequestId>" + requestId + "</RequestId></ErrorResponse>";
    }

    private String createRole(String account, Map<String, String> p) {
        String name = roleName(required(p, "RoleName"));
        String trust = required(p, "AssumeRolePolicyDocument");
        parse(trust);
        String path = p.getOrDefault("Path", "/");
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            if (Sql.count(c, "SELECT COUNT(*) FROM iam_roles WHERE account_id = ? AND name = ?", account, name) > 0) {
                throw new IamError("EntityAlreadyExists", 409, "Role with name " + name + " already exists.");
            }
            Sql.update(c, "INSERT INTO iam_roles (account_id, name, role_id, path, description, assume_role_policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    account, name, "AROA" + Ids.random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17), path, p.get("Description"), trust,
                    Timestamp.from(Instant.now().truncatedTo(ChronoUnit.SECONDS)));
            return null;
        });
        return "<Role>" + role(account, name) + "</Role>";
    }

    private String role(String account, String name) {
        return db.inTransaction(c -> {
            try (PreparedStatement s = Sql.prepare(c, "SELECT role_id, path, description, assume_role_policy, created_at FROM iam_roles"
                    + " WHERE account_id = ? AND name = ?", account, name); ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    throw noRole(name);
                }
                String path = r.getString(2);
                return "<Path>" + escape(path) + "</Path><RoleName>" + escape(name) + "</RoleName><RoleId>" + r.getString(1) + "</RoleId>"
                        + "<Arn>" + escape(arn(account, path, name)) + "</Arn><CreateDate>" + r.getTimestamp(5).toInstant() + "</CreateDate>"
                        + "<AssumeRolePolicyDocument>" + escape(URLEncoder.encode(r.getString(4), StandardCharsets.UTF_8).replace("+", "%20"))
                        + "</AssumeRolePolicyDocument>" + (r.getString(3) == null ? "" : "<Description>" + escape(r.getString(3)) + "</Description>")
                        + "<MaxSessionDuration>3600</MaxSessionDuration>";
            }
        });
    }

    public static String arn(String account, String path, String name) {
        return "arn:aws:iam::" + account + ":role" + (path.endsWith("/") ? path : path + "/") + name;
    }

    private String deleteRole(String account, String name) {
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireRole(c, account, name);
            if (Sql.count(c, "SELECT COUNT(*) FROM iam_role_attached_policies WHERE account_id = ? AND role_name = ?", account, name) > 0
                    || Sql.count(c, "SELECT COUNT(*) FROM iam_role_inline_policies WHERE account_id = ? AND role_name = ?", account, name) > 0) {
                throw new IamError("DeleteConflict", 409, "Cannot delete entity, must detach all policies first.");
            }
            Sql.update(c, "DELETE FROM iam_roles WHERE account_id = ? AND name = ?", account, name);
            return null;
        });
        return null;
    }

    private String attach(String account, String name, String policyArn) {
        if (ManagedPolicies.document(policyArn).isEmpty()) {
            throw new IamError("NoSuchEntity", 404, "Policy " + policyArn + " does not exist or is not attachable.");
        }
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireRole(c, account, name);
            Sql.update(c, "DELETE FROM iam_role_attached_policies WHERE account_id = ? AND role_name = ? AND policy_arn = ?", account, name, policyArn);
            Sql.update(c, "INSERT INTO iam_role_attached_policies (account_id, role_name, policy_arn) VALUES (?, ?, ?)", account, name, policyArn);
            return null;
        });
        return null;
    }

    private String detach(String account, String name, String policyArn) {
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireRole(c, account, name);
            if (Sql.update(c, "DELETE FROM iam_role_attached_policies WHERE account_id = ? AND role_name = ? AND policy_arn = ?",
                    account, name, policyArn) == 0) {
                throw new IamError("NoSuchEntity", 404, "Policy " + policyArn + " was not found.");
            }
            return null;
        });
        return null;
    }

    private String listAttached(String account, String name) {
        List<String> arns = db.inTransaction(c -> {
            requireRole(c, account, name);
            return Sql.strings(c, "SELECT policy_arn FROM iam_role_attached_policies WHERE account_id = ? AND role_name = ? ORDER BY policy_arn",
                    account, name);
        });
        StringBuilder s = new StringBuilder("<AttachedPolicies>");
        for (String arn : arns) {
            s.append("<member><PolicyName>").append(escape(ManagedPolicies.name(arn))).append("</PolicyName><PolicyArn>")
                    .append(escape(arn)).append("</PolicyArn></member>");
        }
        return s.append("</AttachedPolicies><IsTruncated>false</IsTruncated>").toString();
    }

    private String putInline(String account, String name, String policyName, String document) {
        parse(document);
        db.inTransaction(c -> {
            Accounts.lock(c, account);
            requireRole(c, account, name);
            Sql.update(c, "DELETE FROM iam_role_inline_policies WHERE account_id = ? AND role_name = ? AND policy_name = ?", account, name, policyName);
            Sql.update(c, "INSERT INTO iam_role_inline_policies (account_id, role_name, policy_name, document) VALUES (?, ?, ?, ?)",
                    account, name, policyName, document);
            return null;
        });
        return null;
    }

    /**
     * Whether the role (by ARN, in {@code account}) may perform {@code action}: an explicit Deny in
     * any of its policies wins; otherwise any Allow grants; otherwise it is denied (IAM's policy
     * evaluation logic). An unknown role is allowed nothing.
     */
    public boolean allows(String account, String roleArn, String action) {
        String name = roleArn.substring(roleArn.lastIndexOf('/') + 1);
        List<String> documents = db.inTransaction(c -> {
            List<String> docs = new ArrayList<>();
            if (Sql.count(c, "SELECT COUNT(*) FROM iam_roles WHERE account_id = ? AND name = ?", account, name) == 0) {
                return docs;
            }
            for (String arn : Sql.strings(c, "SELECT policy_arn FROM iam_role_attached_policies WHERE account_id = ? AND role_name = ?", account, name)) {
                ManagedPolicies.document(arn).ifPresent(docs::add);
            }
            docs.addAll(Sql.strings(c, "SELECT document FROM iam_role_inline_policies WHERE account_id = ? AND role_name = ?", account, name));
            return docs;
        });
        boolean allowed = false;
        for (String document : documents) {
            for (PolicyDocument.Statement s : PolicyDocument.parse(document).statements()) {
                if (s.matches(action)) {
                    if (!s.allow()) {
                        return false;
                    }
                    allowed = true;
                }
            }
        }
        return allowed;
    }

    /** Whether the role may perform every one of {@code actions}. */
    public boolean allowsAll(String account, String roleArn, List<String> actions) {
        for (String action : actions) {
            if (!allows(account, roleArn, action)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the role exists in {@code account} and its trust policy lets {@code service} (for
     * example lambda.amazonaws.com) call sts:AssumeRole.
     */
    public boolean canBeAssumedBy(String account, String roleArn, String service) {
        String name = roleArn.substring(roleArn.lastIndexOf('/') + 1);
        List<String> trust = db.inTransaction(c -> Sql.strings(c, "SELECT assume_role_policy FROM iam_roles WHERE account_id = ? AND name = ?", account, name));
        if (trust.isEmpty()) {
            return false;
        }
        boolean allowed = false;
        for (PolicyDocument.Statement s : PolicyDocument.parse(trust.getFirst()).statements()) {
            if (s.matches("sts:AssumeRole") && (s.services().contains(service) || s.services().contains("*"))) {
                if (!s.allow()) {
                    return false;
                }
                allowed = true;
            }
        }
        return allowed;
    }

    private static void requireRole(Connection c, String account, String name) throws SQLException {
        if (Sql.count(c, "SELECT COUNT(*) FROM iam_roles WHERE account_id = ? AND name = ?", account, name) == 0) {
            throw noRole(name);
        }
    }

    private static IamError noRole(String name) {
        return new IamError("NoSuchEntity", 404, "The role with name " + name + " cannot be found.");
    }

    private static void parse(String document) {
        try {
            PolicyDocument.parse(document);
        } catch (IllegalArgumentException e) {
            throw new IamError("MalformedPolicyDocument", 400, e.getMessage());
        }
    }

    private static String roleName(String name) {
        if (!ROLE_NAME.matcher(name).matches()) {
            throw new IamError("ValidationError", 400, "1 validation error detected: Value '" + name
                    + "' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+");
        }
        return name;
    }

    private static String required(Map<String, String> p, String name) {
        String v = p.get(name);
        if (v == null || v.isEmpty()) {
            throw new IamError("MissingParameter", 400, "The request must contain the parameter " + name);
        }
        return v;
    }

    private static String escape(String s) {
        return Xml.escaped(s); // control characters too: a caller's value echoed back never makes the answer unreadable
    }
}
