#include "common/properties.h"

#include <fstream>
#include <sstream>

namespace gregor {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Undoes the escapes of one logical line's key or value.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        switch (c) {
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 'f': out += '\f'; break;
        case 'u': {
            // \uXXXX: four hex digits after the 'u' at s[i].
            uint32_t cp = 0;
            bool ok = i + 4 < s.size();
            for (size_t k = 1; ok && k <= 4; ++k) {
                const char h = s[i + k];
                cp <<= 4;
                if (h >= '0' && h <= '9') cp |= static_cast<uint32_t>(h - '0');
                else if (h >= 'a' && h <= 'f') cp |= static_cast<uint32_t>(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') cp |= static_cast<uint32_t>(h - 'A' + 10);
                else ok = false;
            }
            if (ok) {
                append_utf8(out, cp);
                i += 4;
            } else {
                out += 'u';
            }
            break;
        }
        default: out += c; break;
        }
    }
    return out;
}

}  // namespace

properties parse_properties(const std::string& text) {
    properties out;
    std::istringstream in(text);
    std::string raw;
    std::string logical;
    bool continuing = false;
    while (std::getline(in, raw)) {
        if (!raw.empty() && raw.back() == '\r') raw.pop_back();
        size_t start = 0;
        while (start < raw.size() && is_space(raw[start])) ++start;
        std::string line = raw.substr(start);
        if (!continuing && (line.empty() || line[0] == '#' || line[0] == '!')) continue;
        // An odd number of trailing backslashes continues the line.
        size_t slashes = 0;
        while (slashes < line.size() && line[line.size() - 1 - slashes] == '\\') ++slashes;
        const bool continues = slashes % 2 == 1;
        if (continues) line.pop_back();
        logical += line;
        continuing = continues;
        if (continuing) continue;

        size_t i = 0;
        std::string key;
        while (i < logical.size()) {
            const char c = logical[i];
            if (c == '\\' && i + 1 < logical.size()) {
                key += logical.substr(i, 2);
                i += 2;
                continue;
            }
            if (c == '=' || c == ':' || is_space(c)) break;
            key += c;
            ++i;
        }
        while (i < logical.size() && is_space(logical[i])) ++i;
        if (i < logical.size() && (logical[i] == '=' || logical[i] == ':')) ++i;
        while (i < logical.size() && is_space(logical[i])) ++i;
        out[unescape(key)] = unescape(logical.substr(i));
        logical.clear();
    }
    return out;
}

result<properties> read_properties_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return status(errc::invalid_config, "cannot read config file " + path.string());
    std::stringstream buf;
    buf << in.rdbuf();
    return parse_properties(buf.str());
}

result<std::pair<std::string, std::string>> parse_key_value(const std::string& arg) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
        return status(errc::invalid_config, "expected key=value, got '" + arg + "'");
    }
    return std::pair{arg.substr(0, eq), arg.substr(eq + 1)};
}

}  // namespace gregor
