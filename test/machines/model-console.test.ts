// Model-based proof for the console machine (seed: _get_node_console_with_reset): its backoff
// and recovery make the largest tree, so it runs in its own file.
import { describeEveryPath } from './model-walk.js';

describeEveryPath(['console']);
