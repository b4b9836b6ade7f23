import { initBackend, tf } from '@grokking-tickets/backend';
import { createModel, initialWeights } from '@grokking-tickets/models';
import { PAPER_ADAMW, getTask, resolveTaskConfig, StackedTrainer } from './dist/index.js';
await initBackend('wasm');
const kind = process.argv[2] ?? 'mlp'; const K = Number(process.argv[3] ?? 4);
const task = resolveTaskConfig({ name: kind==='mnist-mlp'?'mnist':'modular' });
const model = createModel(kind);
const data = getTask(task.name).load(task, 0);
const st = new StackedTrainer({model, members: Array.from({length:K},(_, i)=>({weights: initialWeights(model,i), optimizer: PAPER_ADAMW, train: data.train, test: data.test}))});
for (let i=0;i<5;i++) st.step();
const kernels = {}; const steps = 20;
for (let i=0;i<steps;i++){ const prof = await tf.profile(()=>st.step()); for (const k of prof.kernels){ if (!tf.getKernel(k.name, 'wasm')) continue; const key=`${k.name} ${JSON.stringify(k.inputShapes)}`; kernels[key]=(kernels[key]??0)+(k.kernelTimeMs||0)/steps; } }
const tot = Object.values(kernels).reduce((a,b)=>a+b,0);
console.log('kernel sum', tot.toFixed(2), 'count', Object.keys(kernels).length);
for (const [k,ms] of Object.entries(kernels).sort((a,b)=>b[1]-a[1]).slice(0,25)) console.log(ms.toFixed(3), k);
