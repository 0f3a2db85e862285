// NVRTC on the emulated device: "compiling" a program resolves it to the kernels the emulator
// was built from, after checking that the source and headers handed over are exactly the
// packaged ones; the PTX it returns lists those kernels' entry points and parameter sizes, which
// cuModuleLoadData then resolves.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "device.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

struct _nvrtcProgram {
    std::string source, name;
    std::vector<std::pair<std::string, std::string>> headers;   // include name, text
    std::string ptx, log;
    bool compiled = false;
};

namespace {

const char* const ARCHITECTURES[] = {"75", "80", "86", "87", "89", "90", "100", "103", "110", "120", "121"};

// The "compute_NN" of an architecture option, or empty when the option is not one.
std::string architecture(const std::string& option) {
    for (const char* prefix : {"--gpu-architecture=", "-arch=", "--gpu-architecture ", "-arch "}) {
        if (option.rfind(prefix, 0) == 0) return option.substr(std::strlen(prefix));
    }
    return "";
}

bool knownOption(const std::string& option) {
    static const char* const flags[] = {"-std=c++11", "-std=c++14", "-std=c++17", "-std=c++20", "--use_fast_math",
                                        "-use_fast_math", "-lineinfo", "--generate-line-info", "-default-device",
                                        "--device-as-default-execution-space", "-G", "--device-debug"};
    for (const char* f : flags) {
        if (option == f) return true;
    }
    return option.rfind("-I", 0) == 0 || option.rfind("--include-path=", 0) == 0 || option.rfind("-D", 0) == 0;
}

std::vector<std::string> includes(const std::string& source) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while ((at = source.find("#include", at)) != std::string::npos) {
        at += 8;
        std::size_t open = source.find_first_of("\"<\n", at);
        if (open == std::string::npos || source[open] == '\n') continue;
        std::size_t close = source.find_first_of("\">\n", open + 1);
        if (close == std::string::npos || source[close] == '\n') continue;
        out.push_back(source.substr(open + 1, close - open - 1));
        at = close;
    }
    return out;
}

nvrtcResult compile(_nvrtcProgram& p, const std::string& arch) {
    std::string module = p.name;
    if (module.size() > 3 && module.compare(module.size() - 3, 3, ".cu") == 0) module.resize(module.size() - 3);
    std::size_t slash = module.find_last_of('/');
    if (slash != std::string::npos) module = module.substr(slash + 1);
    const tsemu::ModuleSource* m = tsemu::findModule(module);
    if (m == nullptr) {
        p.log = p.name + ": the emulated device has no kernels compiled from a module named '" + module + "'";
        return NVRTC_ERROR_COMPILATION;
    }
    if (p.source != m->source) {
        p.log = p.name + ": the source differs from the packaged " + module + ".cu the emulator was built from";
        return NVRTC_ERROR_COMPILATION;
    }
    for (const std::string& inc : includes(p.source)) {
        auto given = std::find_if(p.headers.begin(), p.headers.end(), [&](auto& h) { return h.first == inc; });
        if (given == p.headers.end()) {
            p.log = p.name + ": catastrophic error: cannot open source file \"" + inc + "\"";
            return NVRTC_ERROR_COMPILATION;
        }
        const char* packaged = tsemu::findHeader(inc);
        if (packaged == nullptr || given->second != packaged) {
            p.log = p.name + ": header " + inc + " differs from the packaged one the emulator was built from";
            return NVRTC_ERROR_COMPILATION;
        }
    }
    std::string ptx = "//\n// Tessera CUDA emulator: module " + module +
                      " (its kernels are compiled into the emulator)\n//\n\n.version 9.0\n.target compute_" + arch +
                      "\n.address_size 64\n";
    for (const tsemu::KernelEntry& k : m->kernels) {
        ptx += "\n.visible .entry " + std::string(k.name) + "(";
        // parameters declared as nvcc declares them: scalars by type, structs as byte arrays
        for (std::size_t i = 0; i < k.signature.sizes.size(); i++) {
            std::size_t bytes = k.signature.sizes[i];
            std::string name = std::string(k.name) + "_param_" + std::to_string(i), decl;
            if (k.signature.floats[i]) decl = ".f" + std::to_string(bytes * 8) + " " + name;
            else if (k.signature.pointers[i] || bytes == 8) decl = ".u64 " + name;
            else if (bytes == 4 || bytes == 2 || bytes == 1) decl = ".u" + std::to_string(bytes * 8) + " " + name;
            else decl = ".align 8 .b8 " + name + "[" + std::to_string(bytes) + "]";
            ptx += (i ? ",\n\t.param " : "\n\t.param ") + decl;
        }
        ptx += "\n)\n{\n\tret;\n}\n";
    }
    p.ptx = ptx;
    p.log = "";
    p.compiled = true;
    return NVRTC_SUCCESS;
}

}  // namespace

EXPORT const char* nvrtcGetErrorString(nvrtcResult result) {
    switch (result) {
        case NVRTC_SUCCESS: return "NVRTC_SUCCESS";
        case NVRTC_ERROR_OUT_OF_MEMORY: return "NVRTC_ERROR_OUT_OF_MEMORY";
        case NVRTC_ERROR_PROGRAM_CREATION_FAILURE: return "NVRTC_ERROR_PROGRAM_CREATION_FAILURE";
        case NVRTC_ERROR_INVALID_INPUT: return "NVRTC_ERROR_INVALID_INPUT";
        case NVRTC_ERROR_INVALID_PROGRAM: return "NVRTC_ERROR_INVALID_PROGRAM";
        case NVRTC_ERROR_INVALID_OPTION: return "NVRTC_ERROR_INVALID_OPTION";
        case NVRTC_ERROR_COMPILATION: return "NVRTC_ERROR_COMPILATION";
        default: return "NVRTC_ERROR unknown";
    }
}

EXPORT nvrtcResult nvrtcCreateProgram(nvrtcProgram* prog, const char* src, const char* name, int numHeaders,
                                      const char* const* headers, const char* const* includeNames) {
    if (prog == nullptr || src == nullptr || numHeaders < 0 || (numHeaders > 0 && (headers == nullptr || includeNames == nullptr))) {
        return NVRTC_ERROR_INVALID_INPUT;
    }
    auto* p = new _nvrtcProgram();
    p->source = src;
    p->name = name == nullptr ? "default_program" : name;
    for (int i = 0; i < numHeaders; i++) {
        if (headers[i] == nullptr || includeNames[i] == nullptr) {
            delete p;
            return NVRTC_ERROR_INVALID_INPUT;
        }
        p->headers.emplace_back(includeNames[i], headers[i]);
    }
    *prog = p;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcDestroyProgram(nvrtcProgram* prog) {
    if (prog == nullptr || *prog == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    delete *prog;
    *prog = nullptr;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char* const* options) {
    if (prog == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    if (numOptions < 0 || (numOptions > 0 && options == nullptr)) return NVRTC_ERROR_INVALID_INPUT;
    std::string arch = "52";   // NVRTC's default virtual architecture
    for (int i = 0; i < numOptions; i++) {
        std::string o = options[i] == nullptr ? "" : options[i];
        std::string a = architecture(o);
        if (!a.empty()) {
            if (a.rfind("compute_", 0) != 0 && a.rfind("sm_", 0) != 0) return NVRTC_ERROR_INVALID_OPTION;
            std::string number = a.substr(a.find('_') + 1);
            if (std::find(std::begin(ARCHITECTURES), std::end(ARCHITECTURES), number) == std::end(ARCHITECTURES)) {
                return NVRTC_ERROR_INVALID_OPTION;
            }
            arch = number;
        } else if (!knownOption(o)) {
            return NVRTC_ERROR_INVALID_OPTION;
        }
    }
    return compile(*prog, arch);
}

EXPORT nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t* ptxSizeRet) {
    if (prog == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    if (ptxSizeRet == nullptr) return NVRTC_ERROR_INVALID_INPUT;
    if (!prog->compiled) return NVRTC_ERROR_INVALID_PROGRAM;
    *ptxSizeRet = prog->ptx.size() + 1;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char* ptx) {
    if (prog == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    if (ptx == nullptr) return NVRTC_ERROR_INVALID_INPUT;
    if (!prog->compiled) return NVRTC_ERROR_INVALID_PROGRAM;
    std::memcpy(ptx, prog->ptx.c_str(), prog->ptx.size() + 1);
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t* logSizeRet) {
    if (prog == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    if (logSizeRet == nullptr) return NVRTC_ERROR_INVALID_INPUT;
    *logSizeRet = prog->log.size() + 1;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char* log) {
    if (prog == nullptr) return NVRTC_ERROR_INVALID_PROGRAM;
    if (log == nullptr) return NVRTC_ERROR_INVALID_INPUT;
    std::memcpy(log, prog->log.c_str(), prog->log.size() + 1);
    return NVRTC_SUCCESS;
}
