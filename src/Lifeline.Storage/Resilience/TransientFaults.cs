using System.Net;
using System.Net.Http;
using Amazon.Runtime;
using Azure;

namespace Lifeline.Storage.Resilience;

/// <summary>Decides which exceptions of a store are transient (worth retrying) and which are permanent.</summary>
public static class TransientFaults
{
    /// <summary>
    /// True for faults that may go away by themselves: I/O and network errors, timeouts (including
    /// <see cref="ObjectStoreTimeoutException"/>), HTTP 408, 429 and 5xx (except 501), S3
    /// SlowDown/RequestTimeout/InternalError/ServiceUnavailable. False for missing objects, invalid arguments,
    /// permissions and credentials (<see cref="ObjectStoreAuthException"/>), an endpoint that cannot be reached
    /// (<see cref="ObjectStoreUnavailableException"/>), cancellation and every other 4xx.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case ObjectStoreUnavailableException: // the endpoint is wrong or down: say so at once
            case ObjectStoreAuthException:
            case ObjectNotFoundException:
            case OperationCanceledException:
            case ArgumentException:
            case InvalidOperationException:
            case UnauthorizedAccessException:
            case NotSupportedException:
            case FileNotFoundException:
            case DirectoryNotFoundException:
            case PathTooLongException:
                return false;
            case RequestFailedException azure:
                // Status 0: no response at all (connection refused or reset).
                return azure.Status == 0 || IsTransientStatus(azure.Status) || (azure.InnerException is { } inner && IsTransient(inner));
            case AmazonServiceException aws:
                return aws.ErrorCode is "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable" or "Throttling" or "ThrottlingException"
                    || IsTransientStatus((int)aws.StatusCode)
                    || (aws.StatusCode == 0 && aws.InnerException is { } awsInner && IsTransient(awsInner));
            case AmazonClientException client:
                return client.InnerException is { } clientInner && IsTransient(clientInner);
            case HttpRequestException http:
                return http.StatusCode is not { } code || IsTransientStatus((int)code);
            case TimeoutException:
            case IOException:
                return true;
            case AggregateException aggregate:
                return aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient);
            default:
                return false;
        }
    }

    private static bool IsTransientStatus(int status) =>
        status is (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests
        || (status >= 500 && status != (int)HttpStatusCode.NotImplemented && status != (int)HttpStatusCode.HttpVersionNotSupported);
}
