using Lifeline.Cli.Infrastructure;
using Lifeline.Storage;
using Lifeline.Vault;

namespace Lifeline.Cli.Tests.Unit;

public sealed class ErrorReporterTests
{
    public static TheoryData<Exception, int> Cases => new()
    {
        { new RepositoryNotFoundException("/srv/repo"), ExitCodes.RepositoryNotFound },
        { new WrongPasswordException("/srv/repo"), ExitCodes.WrongPassword },
        { new RepositoryLockedException("abcdef0123", "host pid 1", DateTimeOffset.UnixEpoch, exclusive: true), ExitCodes.Locked },
        { new SnapshotNotFoundException("'deadbeef'"), ExitCodes.SnapshotNotFound },
        { new VaultCorruptException("pack 1234"), ExitCodes.CheckFailed },
        { new UnsafePathException("..", "/"), ExitCodes.CheckFailed },
        { new RestoreTargetNotEmptyException("/tmp/x"), ExitCodes.Failure },
        { new ObjectNotFoundException("data/ab/abcd", "file:///srv/repo"), ExitCodes.CheckFailed },
        { new UsageException("bad"), ExitCodes.Usage },
        { new OperationCanceledException(), ExitCodes.Interrupted },
        { new IOException("disk full"), ExitCodes.Failure },
        { new InvalidOperationException("boom"), ExitCodes.Failure },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Report_Exception_OneLineAndDocumentedCode(Exception exception, int expected)
    {
        var error = new StringWriter();
        var code = ErrorReporter.Report(exception, error, _ => null);
        Assert.Equal(expected, code);
        var text = error.ToString();
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("lifeline: ", text);
    }

    [Fact]
    public void Report_UnexpectedException_NamesTypeAndShowsStackOnlyWithDebug()
    {
        Exception thrown;
        try
        {
            throw new InvalidOperationException("boom\nsecond line");
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        var quiet = new StringWriter();
        ErrorReporter.Report(thrown, quiet, _ => null);
        Assert.Equal("lifeline: unexpected error: InvalidOperationException: boom second line", quiet.ToString().TrimEnd());

        var debug = new StringWriter();
        ErrorReporter.Report(thrown, debug, name => name == "LIFELINE_DEBUG" ? "1" : null);
        Assert.Contains("   at ", debug.ToString());
    }
}
