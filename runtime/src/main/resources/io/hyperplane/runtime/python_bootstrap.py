"""Hyperplane's Python runtime: the loop AWS's python3.x runtimes run, on the standard library only.

Behaves as awslambdaric (AWS's Python runtime interface client) does where a function can tell:
handler resolution and its errorTypes (Runtime.MalformedHandlerName, Runtime.ImportModuleError,
Runtime.UserCodeSyntaxError, Runtime.BuiltInModuleConflict reported to /runtime/init/error and the
process exits; Runtime.HandlerNotFound reported on each invoke), the context object, the error
JSON of a raised exception (errorType = the exception class name, stackTrace without this file's
frames) and Runtime.MarshalError for a result json cannot encode.

Usage: python3 python_bootstrap.py [handler]   (else $_HANDLER); needs $AWS_LAMBDA_RUNTIME_API.
"""

import decimal
import http.client
import importlib
import json
import os
import sys
import time
import traceback

API_VERSION = "2018-06-01"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class FaultException(Exception):
    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


class RuntimeClient:
    """The Runtime API over one kept-alive connection; /next blocks as long as it takes."""

    def __init__(self, address):
        self.address = address
        self.connection = None

    def _request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.address)
            try:
                self.connection.request(method, "/" + API_VERSION + path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, ConnectionError):
                # A kept-alive connection the server closed: reconnect once, then give up.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise

    def next(self):
        status, headers, body = self._request("GET", "/runtime/invocation/next")
        if status != 200:
            raise RuntimeError("/runtime/invocation/next answered %d: %r" % (status, body))
        return {name.lower(): value for name, value in headers}, body

    def post(self, path, body, headers=None):
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        status, _, answer = self._request("POST", path, body, all_headers)
        if status != 202:
            sys.stderr.write("[ERROR] POST %s answered %d: %s\n" % (path, status, answer.decode("utf-8", "replace")))
        return status


def make_error(error_message, error_type, stack_trace):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def build_fault_result(exc_info):
    etype, value, tb = exc_info
    frames = traceback.extract_tb(tb)
    # The function's own frames only, as AWS's runtime drops its bootstrap's.
    this_file = os.path.abspath(__file__)
    frames = [f for f in frames if os.path.abspath(f.filename) != this_file]
    return make_error(str(value), etype.__name__, traceback.format_list(frames))


def log_error(error):
    lines = "".join(error.get("stackTrace") or [])
    sys.stderr.write("[ERROR] %s: %s\n" % (error["errorType"], error["errorMessage"]))
    if lines:
        sys.stderr.write("Traceback (most recent call last):\n" + lines)
    sys.stderr.flush()


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(handler, str(e)))
    if modname.split(".")[0] in sys.builtin_module_names:
        raise FaultException("Runtime.BuiltInModuleConflict",
                             "Cannot use built-in module {} as a handler module".format(modname))
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException("Runtime.ImportModuleError",
                             "Unable to import module '{}': {}".format(modname, str(e)))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException("Runtime.UserCodeSyntaxError",
                             "Syntax error in module '{}': {}".format(modname, str(e)), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        fault = FaultException("Runtime.HandlerNotFound",
                               "Handler '{}' missing on module '{}'".format(fname, modname))

        def missing(event, context):
            raise fault
        return missing


class CognitoIdentity:
    def __init__(self, raw):
        data = json.loads(raw) if raw else {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    def __init__(self, data):
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    def __init__(self, raw):
        data = json.loads(raw) if raw else {}
        self.client = Client(data["client"]) if data.get("client") else None
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    def __init__(self, request_id, deadline_ms, invoked_function_arn, client_context, cognito_identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(cognito_identity) if cognito_identity else None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(round(time.time() * 1000)), 0)

    def __repr__(self):
        return "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s," \
               "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,identity=%s])" % (
                   self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
                   self.memory_limit_in_mb, self.function_version, self.invoked_function_arn,
                   self.client_context, self.identity)


def decimal_serializer(o):
    if isinstance(o, decimal.Decimal):
        return float(o)
    raise TypeError(repr(o) + " is not JSON serializable")


def to_json(obj):
    return json.dumps(obj, default=decimal_serializer)


def handle_event(client, handler, headers, body):
    request_id = headers["lambda-runtime-aws-request-id"]
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    context = LambdaContext(request_id, int(headers.get("lambda-runtime-deadline-ms", "0")),
                            headers.get("lambda-runtime-invoked-function-arn"),
                            headers.get("lambda-runtime-client-context"),
                            headers.get("lambda-runtime-cognito-identity"))
    try:
        try:
            event = json.loads(body) if body else {}
        except ValueError as e:
            raise FaultException("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(str(e)))
        result = handler(event, context)
        try:
            payload = to_json(result)
        except (TypeError, ValueError) as e:
            raise FaultException("Runtime.MarshalError", "Unable to marshal response: {}".format(str(e)))
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace)
    except Exception:
        error = build_fault_result(sys.exc_info())
    else:
        sys.stdout.flush()
        client.post("/runtime/invocation/%s/response" % request_id, payload.encode("utf-8"))
        return
    log_error(error)
    sys.stdout.flush()
    client.post("/runtime/invocation/%s/error" % request_id, to_json(error).encode("utf-8"),
                {ERROR_TYPE_HEADER: error["errorType"]})


def main():
    handler_name = sys.argv[1] if len(sys.argv) > 1 else os.environ["_HANDLER"]
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = get_handler(handler_name)
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace)
    except Exception:
        error = build_fault_result(sys.exc_info())
    else:
        error = None
    if error is not None:
        log_error(error)
        client.post("/runtime/init/error", to_json(error).encode("utf-8"), {ERROR_TYPE_HEADER: error["errorType"]})
        sys.exit(1)
    while True:
        headers, body = client.next()
        handle_event(client, handler, headers, body)


if __name__ == "__main__":
    main()
