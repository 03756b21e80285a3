#!/usr/bin/env node
// GitLab glue for .gitlab-ci.yml (Node 22 or later, no dependencies):
//   node lvsform-ci.mjs note FILE        post FILE as the merge request's lvsform note, or update the earlier one
//                                        (found by the marker on FILE's first line)
//   node lvsform-ci.mjs fetch-plan OUT   download the saved plan (lvsform.plan) of the newest pipeline of the merge
//                                        request that this commit merged; refuse when that pipeline did not succeed
// Environment: LVSFORM_GITLAB_TOKEN (a project access token: scope api for `note`, read_api is enough for
// `fetch-plan`; .gitlab-ci.yml gives each job its own) and GitLab's CI_* variables.
import { readFileSync, writeFileSync } from 'node:fs';

const api = process.env.CI_API_V4_URL;
const project = encodeURIComponent(process.env.CI_PROJECT_ID ?? '');
const token = process.env.LVSFORM_GITLAB_TOKEN;
const PLAN_JOB = 'lvsform-plan';

function fail(message) {
  process.stderr.write(`lvsform-ci: ${message}\n`);
  process.exit(1);
}

async function call(method, path, body) {
  const res = await fetch(`${api}/projects/${project}${path}`, {
    method,
    headers: { 'PRIVATE-TOKEN': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) fail(`${method} ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res;
}

async function note(file) {
  const iid = process.env.CI_MERGE_REQUEST_IID;
  if (!iid) fail('not a merge-request pipeline (CI_MERGE_REQUEST_IID is not set)');
  const body = readFileSync(file, 'utf8');
  const marker = body.split('\n')[0];
  for (let page = 1; ; page++) {
    const notes = await (await call('GET', `/merge_requests/${iid}/notes?per_page=100&page=${page}`)).json();
    if (notes.length === 0) break;
    const mine = notes.find((n) => typeof n.body === 'string' && n.body.startsWith(marker));
    if (mine) {
      await call('PUT', `/merge_requests/${iid}/notes/${mine.id}`, { body });
      return;
    }
  }
  await call('POST', `/merge_requests/${iid}/notes`, { body });
}

async function fetchPlan(out) {
  const sha = process.env.CI_COMMIT_SHA;
  const mrs = await (await call('GET', `/repository/commits/${sha}/merge_requests`)).json();
  const mr = mrs.find((m) => m.state === 'merged');
  if (!mr) fail(`commit ${sha} merged no merge request: nothing reviewed to apply`);
  const [newest] = await (await call('GET', `/merge_requests/${mr.iid}/pipelines?per_page=1`)).json();
  if (!newest) fail(`merge request !${mr.iid} has no pipeline`);
  if (newest.status !== 'success') fail(`the newest pipeline of !${mr.iid} (#${newest.id}) is ${newest.status}, not success: its plan is not applied`);
  const jobs = await (await call('GET', `/pipelines/${newest.id}/jobs?scope[]=success&per_page=100`)).json();
  const job = jobs.find((j) => j.name === PLAN_JOB);
  if (!job) fail(`pipeline #${newest.id} of !${mr.iid} has no successful ${PLAN_JOB} job`);
  const res = await call('GET', `/jobs/${job.id}/artifacts/lvsform.plan`);
  writeFileSync(out, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
  process.stdout.write(`lvsform-ci: plan of !${mr.iid}, pipeline #${newest.id} (${newest.sha}), job ${job.id} -> ${out}\n`);
}

if (!api || !token) fail('LVSFORM_GITLAB_TOKEN and CI_API_V4_URL must be set');
const [verb, arg] = process.argv.slice(2);
if (verb === 'note' && arg) await note(arg);
else if (verb === 'fetch-plan' && arg) await fetchPlan(arg);
else fail('usage: lvsform-ci.mjs note FILE | fetch-plan OUT');
