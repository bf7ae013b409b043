using Lifeline.Recovery.Configuration;

namespace Lifeline.Recovery.Tests.Configuration;

public sealed class SecretsTests
{
    [Theory]
    [InlineData("API_TOKEN", true)]
    [InlineData("db_password", true)]
    [InlineData("CLIENT_SECRET", true)]
    [InlineData("AWS_SECRET_ACCESS_KEY", true)]
    [InlineData("AZURE_STORAGE_CONNECTION_STRING", true)]
    [InlineData("APP_DSN", true)]
    [InlineData("APP_MODE", false)]
    [InlineData("PATH", false)]
    public void IsSecret_Name_FollowsThePatternsAndThePlanList(string name, bool secret) =>
        Assert.Equal(secret, Secrets.IsSecret(name, ["APP_DSN"]));

    [Fact]
    public void RedactArguments_SecretOptionsAssignmentsAndUrls_AreMasked()
    {
        string[] args = ["restore", "--password", "hunter2", "--token=abc", "--password-file", "/etc/pw", "API_KEY=xyz", "MODE=fast",
            "https://user:pw@host/x", "azure://c/p?sig=SIGVALUE&x=1"];

        var redacted = Secrets.RedactArguments(args);

        Assert.Equal(["restore", "--password", "***", "--token=***", "--password-file", "/etc/pw", "API_KEY=***", "MODE=fast",
            "https://***@host/x", "azure://c/p?sig=***&x=1"], redacted);
    }

    [Fact]
    public void Redacted_SameValue_SameFingerprintAndNoValue()
    {
        var a = Secrets.Redacted("API_TOKEN", "v1");

        Assert.Equal(a, Secrets.Redacted("API_TOKEN", "v1"));
        Assert.NotEqual(a, Secrets.Redacted("API_TOKEN", "v2"));
        Assert.StartsWith("*** (sha256:", a, StringComparison.Ordinal);
        Assert.DoesNotContain("v1", a, StringComparison.Ordinal);
    }
}
