namespace Lifeline.Registry.Contracts;

/// <summary>
/// An MLflow API error: <see cref="ErrorCode"/> is one of MLflow's codes (RESOURCE_DOES_NOT_EXIST, ...), and
/// <see cref="HttpStatus"/> follows MLflow's mapping (mlflow/exceptions.py). Thrown by the store and the client alike.
/// </summary>
public sealed class MlflowException : Exception
{
    /// <summary>Creates the error.</summary>
    public MlflowException(string errorCode, string message, Exception? inner = null)
        : base(message, inner)
    {
        ErrorCode = errorCode;
    }

    /// <summary>MLflow error code, e.g. <c>RESOURCE_DOES_NOT_EXIST</c>.</summary>
    public string ErrorCode { get; }

    /// <summary>The HTTP status MLflow answers with for <see cref="ErrorCode"/>.</summary>
    public int HttpStatus => StatusOf(ErrorCode);

    /// <summary>MLflow's error-code-to-status mapping.</summary>
    public static int StatusOf(string errorCode) => errorCode switch
    {
        ErrorCodes.InvalidParameterValue or ErrorCodes.ResourceAlreadyExists or ErrorCodes.BadRequest => 400,
        ErrorCodes.Unauthenticated => 401,
        ErrorCodes.PermissionDenied => 403,
        ErrorCodes.ResourceDoesNotExist or ErrorCodes.EndpointNotFound or "NOT_FOUND" => 404,
        "ABORTED" or "RESOURCE_CONFLICT" or "ALREADY_EXISTS" => 409,
        "REQUEST_LIMIT_EXCEEDED" or "RESOURCE_EXHAUSTED" => 429,
        "NOT_IMPLEMENTED" => 501,
        "TEMPORARILY_UNAVAILABLE" => 503,
        _ => 500,
    };

    internal static MlflowException NotFound(string message) => new(ErrorCodes.ResourceDoesNotExist, message);

    internal static MlflowException Invalid(string message) => new(ErrorCodes.InvalidParameterValue, message);

    internal static MlflowException AlreadyExists(string message) => new(ErrorCodes.ResourceAlreadyExists, message);
}

/// <summary>The MLflow error codes this registry answers with.</summary>
public static class ErrorCodes
{
    /// <summary>400.</summary>
    public const string InvalidParameterValue = "INVALID_PARAMETER_VALUE";
    /// <summary>400.</summary>
    public const string ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS";
    /// <summary>400.</summary>
    public const string BadRequest = "BAD_REQUEST";
    /// <summary>404.</summary>
    public const string ResourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST";
    /// <summary>404.</summary>
    public const string EndpointNotFound = "ENDPOINT_NOT_FOUND";
    /// <summary>401.</summary>
    public const string Unauthenticated = "UNAUTHENTICATED";
    /// <summary>403.</summary>
    public const string PermissionDenied = "PERMISSION_DENIED";
    /// <summary>500.</summary>
    public const string InternalError = "INTERNAL_ERROR";
}

/// <summary>The body of an MLflow error response.</summary>
public sealed record MlflowError
{
    /// <summary>Error code.</summary>
    public string ErrorCode { get; init; } = ErrorCodes.InternalError;
    /// <summary>Message.</summary>
    public string Message { get; init; } = "";
}
