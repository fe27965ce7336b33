/**
 * Datasets both frameworks know by name. The frameworks size the classifier from the data they load
 * (RSB `make_data_loader` → num_classes; fast-reid `auto_scale_hyperparams` sets MODEL.HEADS.NUM_CLASSES),
 * so importing a config with a known dataset fixes the classifier to its training identities.
 */
export interface KnownDataset {
  /** `dataset.kind` in the training settings, when the app can load it. */
  kind?: 'market1501' | 'dukemtmc';
  rsb: string;
  fastreid: string;
  label: string;
  /** Training identities after relabelling. */
  trainIds: number;
  /** Training images: fast-reid's iterations per epoch are len(train set) // batch. */
  trainImages: number;
  source: string;
}

export const KNOWN_DATASETS: readonly KnownDataset[] = [
  // Market-1501 (Zheng et al., ICCV 2015): 751 ids, 12,936 images in bounding_box_train.
  { kind: 'market1501', rsb: 'market1501', fastreid: 'Market1501', label: 'Market-1501', trainIds: 751, trainImages: 12936, source: 'Market-1501 (Zheng et al., ICCV 2015), bounding_box_train' },
  // DukeMTMC-reID (Zheng et al., ICCV 2017): 702 ids, 16,522 training images.
  { kind: 'dukemtmc', rsb: 'dukemtmc', fastreid: 'DukeMTMC', label: 'DukeMTMC-reID', trainIds: 702, trainImages: 16522, source: 'DukeMTMC-reID (Zheng et al., ICCV 2017), bounding_box_train' },
  // MSMT17 (Wei et al., CVPR 2018, Table 1): 1,041 training identities, 32,621 training images.
  { rsb: 'msmt17', fastreid: 'MSMT17', label: 'MSMT17', trainIds: 1041, trainImages: 32621, source: 'MSMT17 paper, Table 1' },
];

export function datasetByName(name: string): KnownDataset | undefined {
  const n = name.trim().toLowerCase();
  return KNOWN_DATASETS.find((d) => d.rsb === n || d.fastreid.toLowerCase() === n);
}

export function datasetByKind(kind: string): KnownDataset | undefined {
  return KNOWN_DATASETS.find((d) => d.kind === kind);
}
