using Lifeline.Cli.Infrastructure;

namespace Lifeline.Cli.Tests.Unit;

public sealed class CommonOptionsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5100", false)]
    [InlineData("http://127.0.0.1:0", false)]
    [InlineData("http://localhost:5100;https://[::1]:5101", false)]
    [InlineData("http://*:5100", false)]
    [InlineData("http://127.0.0.1:5200/", true)]
    public void UrlsProblem_ListenAddress_Accepted(string urls, bool loopbackOnly) =>
        Assert.Null(CommonOptions.UrlsProblem(urls, loopbackOnly));

    [Theory]
    [InlineData("notaurl", false, "is not an http URL")]
    [InlineData("ftp://127.0.0.1:21", false, "is not an http URL")]
    [InlineData("http://127.0.0.1", false, "with a host and a port")]
    [InlineData("http://127.0.0.1:99999", false, "with a host and a port")]
    [InlineData("http://127.0.0.1:5100/path", false, "is not an http URL")]
    [InlineData("", false, "is empty")]
    [InlineData("http://0.0.0.0:5200", true, "loopback")]
    public void UrlsProblem_NotAListenAddress_NamesTheOptionAndAnExample(string urls, bool loopbackOnly, string fragment)
    {
        var problem = CommonOptions.UrlsProblem(urls, loopbackOnly);

        Assert.NotNull(problem);
        Assert.Contains("--urls", problem, StringComparison.Ordinal);
        Assert.Contains(fragment, problem, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:", problem, StringComparison.Ordinal);
    }
}
