using Lifeline.Cli;

return await LifelineCommand.RunAsync(args);
