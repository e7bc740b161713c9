package billing

// Language is the language an e-mail and the payment page's messages are
// written in.
type Language string

// Supported languages.
const (
	French  Language = "fr"
	English Language = "en"
)

// Valid reports whether l is a supported language.
func (l Language) Valid() bool { return l == French || l == English }
