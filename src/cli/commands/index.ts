// The one list of CLI commands. Each module exports `register(program)`; add new commands here.
import type { Command } from 'commander';
import { register as registerAlerts } from './alerts.js';
import { register as registerAudit } from './audit.js';
import { register as registerBaseline } from './baseline.js';
import { register as registerDemo } from './demo.js';
import { register as registerCerts } from './certs.js';
import { register as registerDataset } from './dataset.js';
import { register as registerEncrypt } from './encrypt.js';
import { register as registerErrors } from './errors.js';
import { register as registerEvents } from './events.js';
import { register as registerGateway } from './gateway.js';
import { register as registerGuards } from './guards.js';
import { register as registerKeys } from './keys.js';
import { register as registerKeysKek } from './keys-kek.js';
import { register as registerPolicy } from './policy.js';
import { register as registerScan } from './scan.js';
import { register as registerSign } from './sign.js';
import { register as registerVerify } from './verify.js';

export function registerCommands(program: Command): void {
  registerErrors(program);
  registerGateway(program);
  registerGuards(program);
  registerCerts(program);
  registerKeys(program);
  registerKeysKek(program);
  registerEncrypt(program);
  registerPolicy(program);
  registerAudit(program);
  registerAlerts(program);
  registerEvents(program);
  registerSign(program);
  registerVerify(program);
  registerScan(program);
  registerDataset(program);
  registerBaseline(program);
  registerDemo(program);
}
