import { initBackend, tf } from '@grokking-tickets/backend';
import { createModel, initialWeights } from '@grokking-tickets/models';
import { Trainer, PAPER_ADAMW, getTask, resolveTaskConfig, StackedTrainer } from './dist/index.js';
await initBackend('wasm');
const kind = process.argv[2] ?? 'mlp';
const task = resolveTaskConfig({ name: kind==='mnist-mlp'?'mnist':'modular' });
const model = createModel(kind);
const data = getTask(task.name).load(task, 0);
const steps = Number(process.argv[3] ?? 100);
for (const K of [1,2,4,8,16]) {
  const st = new StackedTrainer({model, members: Array.from({length:K},(_, i)=>({weights: initialWeights(model,i), optimizer: PAPER_ADAMW, train: data.train, test: data.test}))});
  for (let i=0;i<5;i++) st.step(); st.getWeights(0);
  const c0=process.cpuUsage(); const t0=performance.now(); for (let i=0;i<steps;i++) st.step(); st.getWeights(0); const ms=(performance.now()-t0)/steps; const cu=process.cpuUsage(c0); const cms=(cu.user+cu.system)/1000/steps;
  console.log(kind,'K',K,'ms/step',ms.toFixed(2),'cpu ms/step',cms.toFixed(2),'cpu-model-steps/s',(K*1000/cms).toFixed(0),'model-steps/s',(K*1000/ms).toFixed(0), 'rss MB', (process.memoryUsage().rss/1e6).toFixed(0));
  st.dispose();
}
const t = new Trainer({model, weights: initialWeights(model,0), optimizer: PAPER_ADAMW, train: data.train, test: data.test});
for (let i=0;i<5;i++) t.step(); const c0=process.cpuUsage(); const t0=performance.now(); for (let i=0;i<steps;i++) t.step(); t.getWeights(); const cu=process.cpuUsage(c0); console.log('solo Trainer ms/step', ((performance.now()-t0)/steps).toFixed(2), 'cpu', ((cu.user+cu.system)/1000/steps).toFixed(2));
