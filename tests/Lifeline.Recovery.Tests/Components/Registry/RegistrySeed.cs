// A copy of tests/Lifeline.Registry.Tests/Backup/RegistrySeed.cs for the registry adapter tests.
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;

namespace Lifeline.Recovery.Tests.Components.Registry;

/// <summary>Fills a registry through the API with what a training pipeline leaves: runs, histories, artifacts, versions, stages, aliases.</summary>
internal static class RegistrySeed
{
    public static async Task SeedAsync(MlflowClient client, int models = 2, int versionsPerModel = 3)
    {
        var experimentId = await client.CreateExperimentAsync("lead-scoring", tags: [new MlflowTag("team", "growth")]);
        for (var m = 0; m < models; m++)
        {
            var name = $"model-{m}";
            await client.CreateRegisteredModelAsync(name, $"model number {m}", [new MlflowTag("owner", "growth")]);
            for (var v = 0; v < versionsPerModel; v++)
            {
                var run = await client.CreateRunAsync(experimentId, $"train-{m}-{v}", 1_700_000_000_000 + (m * 100) + v, [new MlflowTag("lineage.table", $"leads@{v}")], "trainer");
                var history = Enumerable.Range(0, 20).Select(i => new MlflowMetric { Key = "loss", Value = 1.0 / (i + 1), Timestamp = 1_700_000_000_000 + i, Step = i }).ToList();
                history.Add(new MlflowMetric { Key = "auc", Value = 0.8 + (v / 100.0), Timestamp = 1_700_000_000_100, Step = 0 });
                await client.LogBatchAsync(run.Info.RunId, history, [new MlflowTag("trees", (100 + v).ToString(System.Globalization.CultureInfo.InvariantCulture))], []);
                var root = MlflowClient.ProxyPathOf(run.Info.ArtifactUri)!;
                await client.UploadArtifactAsync($"{root}/model/model.zip", Payload(m, v));
                await client.UploadArtifactAsync($"{root}/model/signature.json", System.Text.Encoding.UTF8.GetBytes($"{{\"inputs\":{m}}}"));
                await client.UpdateRunAsync(run.Info.RunId, "FINISHED", 1_700_000_100_000);
                var version = await client.CreateModelVersionAsync(name, run.Info.ArtifactUri + "/model", run.Info.RunId, [new MlflowTag("auc", "0.8")], description: $"v{v}");
                if (v == versionsPerModel - 1)
                {
                    await client.TransitionModelVersionStageAsync(name, version.Version, "Production", archiveExistingVersions: true);
                }
                else if (v == versionsPerModel - 2)
                {
                    await client.TransitionModelVersionStageAsync(name, version.Version, "Production", archiveExistingVersions: true);
                }
            }

            await client.TransitionModelVersionStageAsync(name, "1", "Staging", archiveExistingVersions: false);
            await client.SetRegisteredModelAliasAsync(name, "champion", versionsPerModel.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public static byte[] Payload(int m, int v)
    {
        var bytes = new byte[50_000 + (m * 10) + v];
        new Random((m * 1000) + v).NextBytes(bytes);
        return bytes;
    }
}
