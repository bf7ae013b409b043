// The surfaces share process-wide state (the console for the in-process CLI, the managed heap for the memory oracle):
// one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
