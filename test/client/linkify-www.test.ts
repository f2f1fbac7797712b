import { describe, expect, it } from 'vitest'
import { linkify } from '../../client/ui/linkify.ts'

describe('www. addresses become links (issue 8 item 5)', () => {
  it('links www.host.tld as https, without the sentence’s trailing punctuation', () => {
    expect(linkify('see www.example.org.')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'www.example.org', href: 'https://www.example.org/' },
      { kind: 'text', text: '.' },
    ])
    expect(linkify('(WWW.Example.org/a?b=1)')[1]).toEqual({
      kind: 'link',
      text: 'WWW.Example.org/a?b=1',
      href: 'https://www.example.org/a?b=1',
    })
  })

  it('leaves alone what is not an address, and does not link a URL twice', () => {
    expect(linkify('www. and www.local and mail.www.example.org')).toEqual([
      { kind: 'text', text: 'www. and www.local and mail.www.example.org' },
    ])
    expect(linkify('http://www.example.org/x')).toEqual([
      { kind: 'link', text: 'http://www.example.org/x', href: 'http://www.example.org/x' },
    ])
    expect(linkify('me@www.example.org')).toEqual([{ kind: 'text', text: 'me@www.example.org' }])
  })
})
