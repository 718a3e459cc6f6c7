import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Registered on the dev server at start and through the operator API otherwise.
export const EtcdCluster = defineSearchAttributeKey('EtcdCluster', SearchAttributeType.KEYWORD);
export const EtcdOperation = defineSearchAttributeKey('EtcdOperation', SearchAttributeType.KEYWORD);
export const EtcdPhase = defineSearchAttributeKey('EtcdPhase', SearchAttributeType.KEYWORD);
export const EtcdVersion = defineSearchAttributeKey('EtcdVersion', SearchAttributeType.KEYWORD);
export const ALL_SEARCH_ATTRIBUTES = [EtcdCluster, EtcdOperation, EtcdPhase, EtcdVersion];
