// The policy pack as the Pulumi CLI runs it (pulumi preview --policy-pack policies). Constructing the
// PolicyPack starts the analyzer's gRPC server, so nothing else lives here: the list is in all.ts.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./all";

new PolicyPack("greenlight", { policies });
