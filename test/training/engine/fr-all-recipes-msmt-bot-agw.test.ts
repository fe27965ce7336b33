import { describeShard } from './fr-all-recipes.js';

/** fast-reid's MSMT17 bagtricks and AGW recipes, one per distinct training signature, train two iterations (fr-all-recipes.ts). */
describeShard('msmt-bot-agw');
