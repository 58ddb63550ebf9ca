/** CDK entry point (cdk.json "app"). */
import { createApp } from './create-app.ts';

createApp();
