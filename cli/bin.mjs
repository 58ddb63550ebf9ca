#!/usr/bin/env node
// The `stageline` command: the CLI from the bundle cli/bundle.mjs keeps current (a fifth of tsx's start-up).
import { pathToFileURL } from 'node:url';
import { cliBundle } from './bundle.mjs';

await import(pathToFileURL(await cliBundle()).href);
