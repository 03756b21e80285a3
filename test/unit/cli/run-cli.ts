// Runs the lvsform command line from the sources in a child process (tsx), so a test can set its environment.
import { main } from '../../../cli/main.ts';

process.exitCode = await main(process.argv);
