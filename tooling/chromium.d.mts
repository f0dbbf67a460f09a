export declare function chromiumExecutable(): Promise<string>;
export declare const CHROMIUM_ARGS: string[];
export declare const CHROMIUM_WEBGPU_ARGS: string[];
