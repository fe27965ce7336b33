import { describeShard } from './fr-all-recipes.js';

/** fast-reid's MSMT17 SBS and MGN recipes, one per distinct training signature, train two iterations (fr-all-recipes.ts). */
describeShard('msmt-sbs-mgn');
