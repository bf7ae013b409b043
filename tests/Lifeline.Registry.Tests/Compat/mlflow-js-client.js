// Drives a Lifeline registry with a third-party MLflow client: the npm package `mlflow` (Yuhsak/mlflow, MIT),
// installed by scripts/setup/mlflow-js.sh. Usage: node mlflow-js-client.js MODULE_DIR ENDPOINT TOKEN RESULT_FILE
// The package covers the tracking API (experiments, runs, metrics, artifacts); it has no model-registry calls, so
// those go through its own request layer (MLflowBase.req: its URL building, JSON bodies, query strings and error
// handling) with the paths of MLflow's REST documentation. Every answer is written to RESULT_FILE as JSON; the C#
// test asserts on it. Any error (non-200 answer) makes the script exit 1 with the answer on stderr.
'use strict';
const fs = require('fs');
const [moduleDir, endpoint, token, resultFile] = process.argv.slice(2);
const MLflow = require(moduleDir);
const { MLflowBase } = require(moduleDir + '/lib/mlflow');
const { ViewType } = require(moduleDir + '/enum');

console.log = () => {}; // the package logs every request body; keep stdout for errors only

const headers = { Authorization: 'Bearer ' + token };
const client = new MLflow({ endpoint, headers });

class RegisteredModels extends MLflowBase {
  constructor(args) { super(args); this.path = '/registered-models'; }
  create(p) { return this.req('post', '/create', p); }
  get(p) { return this.req('get', '/get', p); }
  search(p) { return this.req('get', '/search', p); }
  getLatestVersions(p) { return this.req('post', '/get-latest-versions', p); }
  setAlias(p) { return this.req('post', '/alias', p); }
  getAlias(p) { return this.req('get', '/alias', p); }
}

class ModelVersions extends MLflowBase {
  constructor(args) { super(args); this.path = '/model-versions'; }
  create(p) { return this.req('post', '/create', p); }
  get(p) { return this.req('get', '/get', p); }
  transitionStage(p) { return this.req('post', '/transition-stage', p); }
  search(p) { return this.req('get', '/search', p); }
}

(async () => {
  const out = {};
  const { Experiments, Runs, Metrics } = client;
  const t0 = 1700000000000;

  out.experiment = await Experiments.create({ name: 'js-client-experiment' });
  const experiment_id = out.experiment.experiment_id;
  out.experimentGet = await Experiments.get({ experiment_id });

  out.run = await Runs.create({ experiment_id, start_time: t0, tags: [{ key: 'mlflow.runName', value: 'js-train' }] });
  const run_id = out.run.run.info.run_id;
  await Runs.logMetric({ run_id, key: 'auc', value: 0.91, timestamp: t0 + 1, step: 0 });
  await Runs.logParameter({ run_id, key: 'trees', value: '100' });
  await Runs.logBatch({
    run_id,
    metrics: [0, 1, 2, 3, 4].map(step => ({ key: 'loss', value: 1 / (step + 1), timestamp: t0 + 10 + step, step })),
    params: [{ key: 'learning_rate', value: '0.1' }],
    tags: [{ key: 'lineage.table', value: 'leads@6' }],
  });
  out.update = await Runs.update({ run_id, status: 'FINISHED', end_time: t0 + 100 });
  out.runGet = await Runs.get({ run_id });
  out.history = await Metrics.getHistory({ run_id, metric_key: 'loss' });
  out.search = await Runs.search({ experiment_ids: [experiment_id], filter: 'metrics.auc > 0.9', run_view_type: ViewType.ACTIVE_ONLY });
  out.searchNone = await Runs.search({ experiment_ids: [experiment_id], filter: 'metrics.auc > 0.95', run_view_type: ViewType.ACTIVE_ONLY });

  const args = { endpoint, headers };
  const models = new RegisteredModels(args);
  const versions = new ModelVersions(args);
  out.model = await models.create({ name: 'js-lead-model', description: 'registered by the mlflow npm client' });
  out.version = await versions.create({ name: 'js-lead-model', source: out.runGet.run.info.artifact_uri + '/model', run_id });
  out.version2 = await versions.create({ name: 'js-lead-model', source: out.runGet.run.info.artifact_uri + '/model', run_id });
  out.transition = await versions.transitionStage({ name: 'js-lead-model', version: '1', stage: 'Production', archive_existing_versions: true });
  out.transition2 = await versions.transitionStage({ name: 'js-lead-model', version: '2', stage: 'Production', archive_existing_versions: true });
  out.alias = await models.setAlias({ name: 'js-lead-model', alias: 'champion', version: '1' });
  out.aliasGet = await models.getAlias({ name: 'js-lead-model', alias: 'champion' });
  out.latest = await models.getLatestVersions({ name: 'js-lead-model', stages: ['Production', 'Archived'] });
  out.versionSearch = await versions.search({ filter: "name='js-lead-model'" });
  out.modelSearch = await models.search({ filter: "name LIKE 'js-%'" });
  out.modelGet = await models.get({ name: 'js-lead-model' });

  // an error answer reaches the client as MLflow's error body
  try {
    await models.get({ name: 'no-such-model' });
    out.missing = null;
  } catch (e) {
    out.missing = String(e.message);
  }

  fs.writeFileSync(resultFile, JSON.stringify(out));
})().catch(e => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
