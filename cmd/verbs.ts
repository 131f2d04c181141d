/**
 * Every verb the CLI offers, in the order `fizz --help` lists them.
 * A verb appears here only when it works end to end.
 */
import type { RegisterVerb } from "./command.ts";
import { register as validate } from "./validate.ts";
import { register as config } from "./config.ts";
import { register as doctor } from "./doctor.ts";
import { register as up } from "./up.ts";
import { register as down } from "./down.ts";
import { register as ps } from "./ps.ts";
import { register as logs } from "./logs.ts";
import { registerStart, registerStop, registerRestart } from "./lifecycle.ts";
import { register as exec } from "./exec.ts";
import { register as run } from "./run.ts";
import { register as create } from "./create.ts";
import { register as kill } from "./kill.ts";
import { register as rm } from "./rm.ts";
import { registerPause, registerUnpause } from "./pause.ts";
import { register as top } from "./top.ts";
import { register as port } from "./port.ts";
import { register as imageList } from "./image-list.ts";
import { register as wait } from "./wait.ts";
import { register as cp } from "./cp.ts";
import { register as completion } from "./completion.ts";
import { register as watch } from "./watch.ts";
import { register as attach } from "./attach.ts";
import { register as version } from "./version-verb.ts";
import { registerPull, registerBuild } from "./images.ts";
import { register as agent } from "./agent.ts";
import { register as ls } from "./ls.ts";
import { register as scale } from "./scale.ts";
import { register as inspect } from "./inspect.ts";
import { register as events } from "./events.ts";
import { register as init } from "./init.ts";
import { register as join } from "./join.ts";
import { register as leave } from "./leave.ts";
import { register as nodes } from "./nodes.ts";
import { register as ingress } from "./ingress.ts";
import { register as cert } from "./cert.ts";
import { register as clusterKeys } from "./cluster-keys.ts";
import { register as registry } from "./registry.ts";
import { register as net } from "./net.ts";
import { register as why } from "./why.ts";
import { register as rollback } from "./rollback.ts";
import { register as secret } from "./secret.ts";

export const verbs: RegisterVerb[] = [up, down, create, ps, logs, registerStart, registerStop, registerRestart, run, exec, attach, kill, rm, registerPause, registerUnpause, cp, top, port, imageList, wait, registerPull, registerBuild, watch, ls, scale, rollback, why, ingress, cert, inspect, events, init, join, leave, nodes, net, clusterKeys, secret, registry, validate, config, doctor, completion, agent, version];
