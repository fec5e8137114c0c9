#!/usr/bin/env node
// In a checkout, Node (>= 22.18) runs the TypeScript sources directly; an installed package, which
// ships only the compiled dist/, runs that.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : compiled.href);
await main(process.argv);
