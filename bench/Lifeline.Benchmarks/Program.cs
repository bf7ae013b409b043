using BenchmarkDotNet.Running;
using Lifeline.Benchmarks;

if (args.Length > 0 && args[0] == "vault-stages")
{
    return VaultStages.Run(args[1]);
}

if (args.Length > 0 && args[0] == "vault-backup")
{
    return await VaultInProcessBackup.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "vault-copy")
{
    return await VaultCopy.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "kdf")
{
    return KdfTiming.Run();
}

if (args.Length > 0 && args[0] == "vault-restore")
{
    return await VaultEndToEnd.RestoreOnlyAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "vault-e2e")
{
    // Quick end-to-end throughput check: vault-e2e SOURCE_DIR REPO_DIR [RESTORE_DIR]
    return await VaultEndToEnd.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
