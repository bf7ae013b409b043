using Lifeline.Cli.Infrastructure;

namespace Lifeline.Cli.Tests.Unit;

public sealed class RepositorySettingsTests
{
    [Fact]
    public void Location_OptionWinsOverVariable()
    {
        var settings = new RepositorySettings(name => name == "LIFELINE_REPO" ? "/from/env" : null);
        Assert.Equal("/from/option", settings.Location("/from/option"));
        Assert.Equal("/from/env", settings.Location(null));
    }

    [Fact]
    public void Password_FileWinsAndTrailingNewlineIsDropped()
    {
        using var dir = new Infrastructure.TestDirectory("password");
        var file = dir.Combine("pw");
        File.WriteAllText(file, "s3cret with spaces \n");
        var settings = new RepositorySettings(name => name == "LIFELINE_PASSWORD" ? "from-env" : null);
        Assert.Equal("s3cret with spaces ", settings.Password(file));
        Assert.Equal("from-env", settings.Password(null));
    }

    [Fact]
    public void Password_EmptyFile_UsageError()
    {
        using var dir = new Infrastructure.TestDirectory("password-empty");
        var file = dir.Combine("pw");
        File.WriteAllText(file, "\n");
        var e = Assert.Throws<UsageException>(() => new RepositorySettings(_ => null).Password(file));
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void OpenStore_MissingDirectoryWithoutCreate_RepositoryNotFoundAndNothingCreated()
    {
        using var dir = new Infrastructure.TestDirectory("open-store");
        var missing = dir.Combine("missing");
        var e = Assert.Throws<CliException>(() => new RepositorySettings(_ => null).OpenStore(missing, create: false));
        Assert.Equal(ExitCodes.RepositoryNotFound, e.ExitCode);
        Assert.False(Directory.Exists(missing));
        Assert.NotNull(new RepositorySettings(_ => null).OpenStore("file://" + missing, create: true));
        Assert.True(Directory.Exists(missing));
    }
}
