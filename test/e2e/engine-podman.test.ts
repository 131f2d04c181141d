// The engine client against the real Podman socket (suite in test/platform/engine/live-suite.ts).
import { engineSocket } from "../support/engine.ts";
import { engineSuite } from "../platform/engine/live-suite.ts";

engineSuite("podman", await engineSocket("podman"));
