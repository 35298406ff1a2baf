// typescript-eslint reads types through the TypeScript compiler API. TypeScript 7 (the project's compiler,
// `npm run typecheck`) ships no such API yet, so the linter runs on TypeScript 6's API, installed side by
// side as @typescript/typescript6. This module points the linter's `require('typescript')` there; it is
// loaded by eslint.config.js only, before typescript-eslint, and changes nothing outside the lint process.
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const typescript6 = require.resolve('@typescript/typescript6/package.json').slice(0, -'package.json'.length);

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveTypescript6(request, ...rest) {
  if (request === 'typescript') request = typescript6;
  else if (request.startsWith('typescript/')) request = typescript6 + request.slice('typescript/'.length);
  return resolve.call(this, request, ...rest);
};
