namespace Lifeline.Registry.Tests.Apis;

/// <summary>
/// Tests that read the process's allocation counter (<c>GC.GetTotalAllocatedBytes</c>), which counts every test
/// running at the time: they run alone, not beside other test classes.
/// </summary>
[CollectionDefinition(nameof(AllocationCounterCollection), DisableParallelization = true)]
public sealed class AllocationCounterCollection;
