// The API's types by name, taken from the schema generated from openapi.json.
import type { components } from './schema';

type Schemas = components['schemas'];

export type PluginView = Schemas['PluginView'];
export type Problem = Schemas['Problem'];
export type JobView = Schemas['JobView'];
export type LastRun = Schemas['LastRun'];
export type JobVersion = Schemas['JobVersion'];
export type RunRecord = Schemas['RunRecord'];
export type RunEvent = Schemas['RunEvent'];
export type RunState = Schemas['RunState'];
export type LogLine = Schemas['LogLine'];
export type PreviewBody = Schemas['PreviewBody'];
export type Column = Schemas['Column'];
export type ErrorBody = Schemas['ErrorBody'];
export type Validated = Schemas['Validated'];
export type Overview = Schemas['Overview'];
export type Explained = Schemas['Explained'];
