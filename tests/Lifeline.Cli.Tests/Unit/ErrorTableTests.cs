using System.Net.Sockets;
using System.Reflection;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Lifeline.Cli.Infrastructure;
using Lifeline.Lake;
using Lifeline.Recovery;
using Lifeline.Vault;

namespace Lifeline.Cli.Tests.Unit;

/// <summary>The one error table: every code it can give is a distinct <see cref="ExitCodes"/> constant documented in docs/cli.md.</summary>
public sealed partial class ErrorTableTests
{
    [Fact]
    public void ExitCodes_EveryConstant_IsDistinctAndIsExactlyTheTableOfDocsCliMd()
    {
        var constants = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);
        Assert.Equal(constants.Count, constants.Values.Distinct().Count());

        var documented = DocumentedExitCodes();
        Assert.Equal(constants.Values.Order(), documented.Order());
    }

    [Fact]
    public void Rows_EveryRow_HasANameOnceAndADocumentedCode()
    {
        var documented = DocumentedExitCodes().ToHashSet();
        Assert.Equal(ErrorTable.Rows.Count, ErrorTable.Rows.Select(r => r.Name).Distinct().Count());
        foreach (var row in ErrorTable.Rows)
        {
            Assert.True(row.ExitCode is null || documented.Contains(row.ExitCode.Value), $"row '{row.Name}' gives undocumented exit code {row.ExitCode}");
            Assert.True(row.ExitCode is not null || row.ExceptionType == typeof(CliException), $"only CliException carries its own code ({row.Name})");
        }
    }

    [Fact]
    public void Rows_SpecificTypes_ComeBeforeTheirBaseTypes()
    {
        for (var i = 0; i < ErrorTable.Rows.Count; i++)
        {
            for (var j = i + 1; j < ErrorTable.Rows.Count; j++)
            {
                var (early, late) = (ErrorTable.Rows[i].ExceptionType, ErrorTable.Rows[j].ExceptionType);
                Assert.False(early != late && early.IsAssignableFrom(late) && early != typeof(Exception),
                    $"row '{ErrorTable.Rows[j].Name}' ({late.Name}) is hidden by the earlier row '{ErrorTable.Rows[i].Name}' ({early.Name})");
            }
        }
    }

    public static TheoryData<Exception, int, string> Foreseeable => new()
    {
        // found by the fuzz long run of the CLI (bench/Lifeline.Fuzz --surface cli)
        { new OverflowException("TimeSpan overflowed because the duration is too long."), ExitCodes.Usage, "out of range" },
        { new ArgumentOutOfRangeException("value", "The added or subtracted value results in an un-representable DateTime."), ExitCodes.Usage, "0001-9999" },
        { new ArgumentException("The value cannot be an empty string. (Parameter 'path')", "path"), ExitCodes.Usage, "is empty" },
        { new AmazonClientException("Failed to resolve AWS credentials. The credential providers used to search for credentials returned the following errors"), ExitCodes.NotAuthorized, "AWS_ACCESS_KEY_ID" },
        { new AmazonClientException("Connection refused", new HttpRequestException("Connection refused (127.0.0.1:9)")), ExitCodes.ServiceUnreachable, "cannot reach S3" },
        { new AmazonServiceException("Access Denied", ErrorType.Sender, "AccessDenied", "r", System.Net.HttpStatusCode.Forbidden), ExitCodes.NotAuthorized, "S3 refused the credentials" },
        { new global::Azure.RequestFailedException(0, "Connection refused (127.0.0.1:9)\nStatus: 0\nHeaders: ..."), ExitCodes.ServiceUnreachable, "cannot reach Azure" },
        { new global::Azure.RequestFailedException(403, "Server failed to authenticate the request.\nRequestId:1", "AuthenticationFailed", null), ExitCodes.NotAuthorized, "AZURE_STORAGE_CONNECTION_STRING" },
        { new AggregateException("Retry failed after 6 tries.", new global::Azure.RequestFailedException(0, "Connection refused")), ExitCodes.ServiceUnreachable, "cannot reach Azure" },
        { new HttpRequestException("Connection refused (127.0.0.1:9)"), ExitCodes.ServiceUnreachable, "127.0.0.1:9" },
        { new SocketException((int)SocketError.ConnectionRefused), ExitCodes.ServiceUnreachable, "cannot connect" },
        { new TaskCanceledException("The request was canceled", new TimeoutException("The operation was canceled after 100 s")), ExitCodes.ServiceUnreachable, "timed out" },
        { new AuthenticationException("The remote certificate is invalid"), ExitCodes.ServiceUnreachable, "secure connection failed" },
        { new IOException("Failed to bind to address http://127.0.0.1:5599: address already in use.", new SocketException((int)SocketError.AddressAlreadyInUse)), ExitCodes.CannotListen, "cannot listen on http://127.0.0.1:5599: address already in use; choose another port with --urls" },
        { new SnapshotNotFoundException("'deadbeef'"), ExitCodes.SnapshotNotFound, "deadbeef" },
        { new KeyFileCorruptException("file:///r", "0123456789", "its content does not match its id"), ExitCodes.CheckFailed, "corrupt" },
        { new SnapshotCorruptException(new CorruptSnapshotInfo { Id = "abcdef0123", Reason = "fails authentication" }, false, null), ExitCodes.CheckFailed, "abcdef01" },
        { new DeltaVersionNotFoundException("version 9 not found"), ExitCodes.LakeVersionNotFound, "lake history" },
        { new IOException("lifeline.yaml already exists: edit it, or pass --force to replace it"), ExitCodes.Failure, "--force" },
        { new UnknownComponentException("confg", "the plan names configuration"), ExitCodes.UnknownComponent, "unknown component 'confg'" },
        { new LocationUnavailableException("c", "cannot reach Azure"), ExitCodes.LocationUnavailable, "location 'c' is unavailable" },
        { new NoRecoveryPointException("configuration", "latest", "a: 0 points"), ExitCodes.SnapshotNotFound, "lifeline status" },
        { new AmbiguousRestorePointException("abcd", 2), ExitCodes.Usage, "more characters" },
        { new LiveDataProtectedException("/srv/app"), ExitCodes.Failure, "--as NAME" },
        { new RestoreFailedException("no location could restore point abcd1234"), ExitCodes.Failure, "abcd1234" },
        { new HookFailedException("pre-backup hook of component 'configuration' exited with code 3"), ExitCodes.Failure, "pre-backup hook" },
        { new RecoveryException("another backup of 'configuration' is running on this host"), ExitCodes.Failure, "another backup" },
    };

    [Theory]
    [MemberData(nameof(Foreseeable))]
    public void Describe_ForeseeableFailure_KnownOneLineWithItsCode(Exception exception, int code, string fragment)
    {
        var (exitCode, message, known) = ErrorTable.Describe(exception);

        Assert.True(known, message);
        Assert.Equal(code, exitCode);
        Assert.Contains(fragment, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain("unexpected error", message, StringComparison.Ordinal);
    }

    private static List<int> DocumentedExitCodes()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "cli.md")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var text = File.ReadAllText(Path.Combine(dir.FullName, "docs", "cli.md"));
        var section = text[text.IndexOf("## Exit codes", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 5, StringComparison.Ordinal)];
        return DocumentedCode().Matches(section).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    [GeneratedRegex(@"^\| (\d+) \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedCode();
}
