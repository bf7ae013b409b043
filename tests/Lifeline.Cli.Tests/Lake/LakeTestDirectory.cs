namespace Lifeline.Cli.Tests.Lake;

/// <summary>A temporary directory per test class instance (xunit creates one instance per test).</summary>
public abstract class LakeTestDirectory : IDisposable
{
    protected LakeTestDirectory(string name)
    {
        Dir = Path.Combine(Path.GetTempPath(), name, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    protected string Dir { get; }

    protected string Sub(string name) => Path.Combine(Dir, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}
